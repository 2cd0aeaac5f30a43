/**
 * Live fan-out of a job's changes as Server-Sent Events. Each client gets the
 * current state first, so one that connects late misses nothing it needs, then
 * every change as it is applied; when the job ends the streams close.
 */
export interface LiveEvent {
  event: string;
  data: unknown;
  /** `attempt-seq` of a backend event, so a client can tell repeats apart. */
  id?: string;
}

const encoder = new TextEncoder();

export function formatSse({ event, data, id }: LiveEvent): Uint8Array {
  return encoder.encode(`${id ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export class LiveEvents {
  private readonly clients = new Set<WritableStreamDefaultWriter<Uint8Array>>();

  /** A stream that starts with `first`; it stays open for later broadcasts unless `closeAfterFirst`. */
  open(first: LiveEvent, closeAfterFirst: boolean): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.send(writer, first);
    if (closeAfterFirst) writer.close().catch(() => undefined);
    else this.clients.add(writer);
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform" },
    });
  }

  broadcast(event: LiveEvent): void {
    for (const writer of this.clients) this.send(writer, event);
  }

  closeAll(): void {
    for (const writer of this.clients) writer.close().catch(() => undefined);
    this.clients.clear();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Writes without waiting for the reader; a client that went away is dropped. */
  private send(writer: WritableStreamDefaultWriter<Uint8Array>, event: LiveEvent): void {
    writer.write(formatSse(event)).catch(() => this.clients.delete(writer));
  }
}
