/**
 * Live fan-out of a job's changes, as Server-Sent Events or over a hibernating
 * WebSocket (the client's choice: `Upgrade: websocket` picks the socket). Each client
 * gets the current state first, so one that connects late misses nothing it needs,
 * then every change as it is applied; when the job ends the connections close. Event
 * streams get a comment line every 20 s while the job is quiet, so no proxy drops them.
 * WebSockets are held by the runtime, not by this object, so a job whose watchers
 * are all on sockets can be evicted from memory between events and still reach them.
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

/** A WebSocket message: the same fields as an SSE event, as one JSON object. */
export function formatSocketMessage(event: LiveEvent): string {
  return JSON.stringify(event);
}

/** An SSE comment line: clients ignore it; proxies and Cloudflare's edge (which closes a response idle for 100 s) see bytes. */
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

export class LiveEvents {
  private readonly streams = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  /** `keepAliveMs`: how often an open event stream gets a comment line while the job is quiet. */
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly keepAliveMs = 20_000,
  ) {}

  /** Answers a watcher's request with `first`, keeping the connection for later broadcasts unless `closeAfterFirst`. */
  open(request: Request, first: LiveEvent, closeAfterFirst: boolean): Response {
    return request.headers.get("upgrade")?.toLowerCase() === "websocket"
      ? this.openSocket(first, closeAfterFirst)
      : this.openStream(first, closeAfterFirst);
  }

  broadcast(event: LiveEvent): void {
    for (const writer of this.streams) this.write(writer, event);
    const message = formatSocketMessage(event);
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(message);
      } catch {
        // Already closing: the runtime drops it from getWebSockets() on its own.
      }
    }
  }

  closeAll(): void {
    for (const writer of this.streams) writer.close().catch(() => undefined);
    this.streams.clear();
    this.stopKeepAlive();
    for (const socket of this.ctx.getWebSockets()) socket.close(1000, "job ended");
  }

  private openStream(first: LiveEvent, closeAfterFirst: boolean): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.write(writer, first);
    if (closeAfterFirst) writer.close().catch(() => undefined);
    else {
      this.streams.add(writer);
      this.keepAlive ??= setInterval(() => this.sendKeepAlive(), this.keepAliveMs);
    }
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform" },
    });
  }

  private openSocket(first: LiveEvent, closeAfterFirst: boolean): Response {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.send(formatSocketMessage(first));
    if (closeAfterFirst) server.close(1000, "job ended");
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Writes without waiting for the reader; a client that went away is dropped. */
  private write(writer: WritableStreamDefaultWriter<Uint8Array>, event: LiveEvent): void {
    this.writeBytes(writer, formatSse(event));
  }

  private writeBytes(writer: WritableStreamDefaultWriter<Uint8Array>, bytes: Uint8Array): void {
    writer.write(bytes).catch(() => {
      this.streams.delete(writer);
      if (this.streams.size === 0) this.stopKeepAlive();
    });
  }

  private sendKeepAlive(): void {
    if (this.streams.size === 0) return this.stopKeepAlive();
    for (const writer of this.streams) this.writeBytes(writer, KEEP_ALIVE);
  }

  private stopKeepAlive(): void {
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
