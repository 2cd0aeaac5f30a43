/**
 * A stand-in for the Worker's job callbacks (events, upload slots, claims, input files), for tests: a real HTTP server
 * on 127.0.0.1 that verifies signatures exactly as the Worker does, records
 * events, hands out upload slots that PUT into memory, and serves input files.
 * It can be taken down and brought back on the same port to test retries.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BackendEventSchema, ClaimJobSchema, UploadSlotRequestSchema, type BackendEvent, type ClaimJob } from "../../shared/job.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../shared/signing.js";

export class FakeWorkerCallbacks {
  readonly events: BackendEvent[] = [];
  /** Claims of queued attempts as received (`POST /callback/claim`); the first host of an attempt wins. */
  readonly claims: ClaimJob[] = [];
  /** Jobs whose attempts the Worker no longer wants: their events, slots and claims get 409. */
  readonly stale = new Set<string>();
  readonly blobs = new Map<string, { bytes: Uint8Array; contentType: string }>();
  readonly inputs = new Map<string, Uint8Array>();
  rejectedSignatures = 0;
  /** Requests answered 503 while `failNext` > 0, to simulate a flapping callback. */
  failNext = 0;
  private server: Server | undefined;
  private port = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly secret: string) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get callbackUrl(): string {
    return `${this.origin}/callback`;
  }

  inputUrl(name: string): string {
    return `${this.origin}/inputs/${name}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once an event matching `predicate` has arrived. */
  async waitFor(predicate: (event: BackendEvent) => boolean, timeoutMs = 60_000): Promise<BackendEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for event; got ${this.events.map((e) => e.type)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  terminalEvent(): Promise<BackendEvent> {
    return this.waitFor((event) => ["succeeded", "failed", "canceled"].includes(event.type));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(request.url ?? "/", this.origin);
    if (this.failNext > 0 && request.method === "POST") {
      this.failNext--;
      return reply(response, 503, { error: { code: "unavailable", message: "flapping" } });
    }
    if (request.method === "GET" && url.pathname.startsWith("/inputs/")) {
      const bytes = this.inputs.get(decodeURIComponent(url.pathname.slice("/inputs/".length)));
      if (!bytes) return reply(response, 404, { error: { code: "not_found", message: "no such input" } });
      response.writeHead(200, { "content-type": "application/octet-stream" });
      return void response.end(bytes);
    }
    if (request.method === "PUT" && url.pathname.startsWith("/blobs/")) {
      const name = decodeURIComponent(url.pathname.slice("/blobs/".length));
      this.blobs.set(name, { bytes: new Uint8Array(body), contentType: String(request.headers["content-type"]) });
      return reply(response, 200, {});
    }
    if (request.method === "POST" && url.pathname.startsWith("/callback")) {
      const text = body.toString("utf8");
      const check = await verifySignature(
        this.secret,
        text,
        header(request, TIMESTAMP_HEADER),
        header(request, SIGNATURE_HEADER),
      );
      if (!check.ok) {
        this.rejectedSignatures++;
        return reply(response, 401, { error: { code: "invalid_signature", message: check.reason } });
      }
      const jobId = (JSON.parse(text) as { job_id?: string }).job_id ?? "";
      if (this.stale.has(jobId)) return reply(response, 409, { error: { code: "stale_attempt", message: "Event ignored: stale attempt" } });
      if (url.pathname === "/callback/claim") {
        const claim = ClaimJobSchema.parse(JSON.parse(text));
        this.claims.push(claim);
        const winner = this.claims.find((first) => first.job_id === claim.job_id && first.attempt === claim.attempt)!;
        if (winner.host !== claim.host) return reply(response, 409, { error: { code: "claimed_elsewhere", message: "Claim refused" } });
        return reply(response, 200, { result: "claimed", attempt: claim.attempt });
      }
      if (url.pathname === "/callback/uploads") {
        const slotRequest = UploadSlotRequestSchema.parse(JSON.parse(text));
        return reply(response, 200, {
          url: `${this.origin}/blobs/${encodeURIComponent(slotRequest.name)}`,
          method: "PUT",
          headers: { "content-type": slotRequest.content_type },
          expires_at: Date.now() + 600_000,
        });
      }
      const event = BackendEventSchema.parse(JSON.parse(text));
      const duplicate = this.events.some(
        (seen) => seen.job_id === event.job_id && seen.attempt === event.attempt && seen.seq === event.seq,
      );
      if (!duplicate) this.events.push(event);
      for (const wake of this.waiters.splice(0)) wake();
      return reply(response, 200, { ok: true });
    }
    reply(response, 404, { error: { code: "not_found", message: url.pathname } });
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function reply(response: ServerResponse, status: number, json: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(json));
}
