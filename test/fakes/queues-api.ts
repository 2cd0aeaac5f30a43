/**
 * A local stand-in for the Cloudflare Queues REST API of one account, following its
 * documentation (developers.cloudflare.com/queues/configuration/pull-consumers):
 * `POST …/queues/{id}/messages` publishes (`{body, content_type}`; `json` bodies are
 * handed to pull consumers base64-encoded, `text` as is); `…/messages/pull`
 * (`batch_size` default 5, `visibility_timeout_ms` default 30 s) leases visible
 * messages and counts a delivery attempt each time; `…/messages/ack` (`acks`,
 * `retries` with `delay_seconds`) is final for acks and permissive about leases (an
 * expired or superseded lease still acks). A message whose lease expires or that is
 * retried becomes visible again; once delivered `maxRetries` + 1 times without an ack
 * it moves to the dead-letter queue. Every call needs the bearer token.
 * `GET /__state` tells a test (in another process) what happened.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface QueuedMessage {
  id: string;
  body: string;
  contentType: "text" | "json";
  attempts: number;
  visibleAt: number;
  leases: string[];
}

export interface QueuesApiOptions {
  token: string;
  accountId: string;
  queueId: string;
  /** Deliveries after the first before a message goes to the dead-letter queue. */
  maxRetries: number;
}

export class FakeQueuesApi {
  readonly queued: QueuedMessage[] = [];
  readonly acked: string[] = [];
  readonly deadLettered: QueuedMessage[] = [];
  readonly retried: { id: string; delay_seconds: number }[] = [];
  readonly pulls: { batch_size?: number; visibility_timeout_ms: number; got: string[] }[] = [];
  readonly published: string[] = [];
  origin = "";
  private server: Server | undefined;

  constructor(private readonly options: QueuesApiOptions) {}

  /** The API base a client is configured with (`…/client/v4`). */
  get apiBase(): string {
    return `${this.origin}/client/v4`;
  }

  publish(body: string, contentType: "text" | "json" = "text"): string {
    const id = randomUUID().replaceAll("-", "");
    this.queued.push({ id, body, contentType, attempts: 0, visibleAt: 0, leases: [] });
    this.published.push(id);
    return id;
  }

  async start(port = 0): Promise<void> {
    const { token, accountId, queueId } = this.options;
    const prefix = `/client/v4/accounts/${accountId}/queues/${queueId}/messages`;
    this.server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const reply = (status: number, json: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(json));
      };
      const ok = (result: unknown) => reply(200, { success: true, errors: [], messages: [], result });
      if (request.method === "GET" && request.url === "/__state") {
        return reply(200, { queued: this.queued, acked: this.acked, dead_lettered: this.deadLettered, retried: this.retried, pulls: this.pulls, published: this.published });
      }
      if (request.headers.authorization !== `Bearer ${token}`) {
        return reply(403, { success: false, errors: [{ code: 10000, message: "Authentication error" }], messages: [], result: null });
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      } catch {
        return reply(400, { success: false, errors: [{ code: 10001, message: "Invalid JSON" }], messages: [], result: null });
      }
      if (request.method === "POST" && request.url === prefix) {
        const contentType = body.content_type === "json" ? "json" : "text";
        this.publish(contentType === "json" ? JSON.stringify(body.body) : String(body.body), contentType);
        return ok(null);
      }
      if (request.method === "POST" && request.url === `${prefix}/pull`) return ok({ messages: this.pull(body), message_backlog_count: this.queued.length });
      if (request.method === "POST" && request.url === `${prefix}/ack`) return ok(this.ack(body));
      reply(404, { success: false, errors: [{ code: 7003, message: "No route for that URI" }], messages: [], result: null });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private pull(body: Record<string, unknown>) {
    const now = Date.now();
    const batchSize = Number(body.batch_size ?? 5);
    const visibilityMs = Number(body.visibility_timeout_ms ?? body.visibility_timeout ?? 30_000);
    // A message delivered maxRetries + 1 times whose last lease ran out is not delivered again.
    for (const message of this.queued.filter((candidate) => candidate.visibleAt <= now && candidate.attempts > this.options.maxRetries)) {
      this.queued.splice(this.queued.indexOf(message), 1);
      this.deadLettered.push(message);
    }
    const ready = this.queued.filter((message) => message.visibleAt <= now).slice(0, batchSize);
    for (const message of ready) {
      message.attempts++;
      message.leases.push(`lease-${randomUUID()}`);
      message.visibleAt = now + visibilityMs;
    }
    this.pulls.push({ batch_size: body.batch_size as number | undefined, visibility_timeout_ms: visibilityMs, got: ready.map((message) => message.id) });
    return ready.map((message) => ({
      id: message.id,
      lease_id: message.leases.at(-1),
      attempts: message.attempts,
      timestamp_ms: now,
      metadata: { "CF-sourceMessageSource": "api", "CF-Content-Type": message.contentType },
      body: message.contentType === "json" ? Buffer.from(message.body).toString("base64") : message.body,
    }));
  }

  private ack(body: Record<string, unknown>) {
    const byLease = (lease: unknown) => this.queued.find((message) => message.leases.includes(String(lease)));
    let ackCount = 0;
    let retryCount = 0;
    for (const { lease_id } of (body.acks as { lease_id: string }[] | undefined) ?? []) {
      const message = byLease(lease_id);
      if (!message) continue;
      this.queued.splice(this.queued.indexOf(message), 1);
      this.acked.push(message.id);
      ackCount++;
    }
    for (const { lease_id, delay_seconds = 0 } of (body.retries as { lease_id: string; delay_seconds?: number }[] | undefined) ?? []) {
      const message = byLease(lease_id);
      if (!message) continue;
      message.visibleAt = Date.now() + delay_seconds * 1000;
      this.retried.push({ id: message.id, delay_seconds });
      retryCount++;
    }
    return { ackCount, retryCount, warnings: [] };
  }
}
