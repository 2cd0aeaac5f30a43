/**
 * Queue-pull mode for scale-out: instead of the Worker pushing jobs to one
 * backend, any number of GPU hosts pull them from a Cloudflare Queue with the
 * Queues HTTP pull API (`POST …/queues/{queue_id}/messages/pull`, then
 * `…/messages/ack` with `acks` and `retries`). A host pulls one message when its
 * runner is idle and then claims the attempt at the job's object
 * (`POST {callback_url}/claim`, signed):
 *
 * - claimed → the message is acked at once and the job runs through the same
 *   runner as pushed jobs. From the claim on, the job object's heartbeat watches
 *   this host, and a host that dies is replaced by a new attempt in a new message,
 *   so the queue's lease only has to cover pull → claim. (The pull API has no call
 *   to extend a lease; holding one for hours would only delay redelivery.)
 * - 409 → the attempt is stale, finished or already running elsewhere (a
 *   redelivered message): ack and drop it.
 * - anything else (the Worker unreachable) → hand the message back with a delay;
 *   the queue counts the delivery and dead-letters it after its retry budget.
 *
 * The queue, not an HMAC, authenticates messages (API token over HTTPS); the body
 * is still validated against the job contract, and the claim is signed.
 */
import { z } from "zod";
import { JobMessageSchema, type JobMessage } from "../../../shared/job.js";
import { signedHeaders } from "../../../shared/signing.js";
import type { JobRunner } from "../jobs/job-runner.js";

export interface QueuePullOptions {
  /** https://api.cloudflare.com/client/v4, or a local stand-in in tests. */
  apiBase: string;
  accountId: string;
  queueId: string;
  apiToken: string;
  /** Signs the claim, like every call to the Worker. */
  secret: string;
  /** Names this host in claims; one per process. */
  hostId: string;
  /** Lease of a pulled message: long enough to claim it. */
  visibilityTimeoutMs: number;
  /** Wait between pulls of an empty queue. */
  idleDelayMs: number;
  /** Delay before a message this host could not claim becomes visible again. */
  retryDelaySeconds: number;
  /** Longest a queue or claim request may take. */
  requestTimeoutMs?: number;
}

const PulledMessageSchema = z.object({
  id: z.string(),
  lease_id: z.string(),
  attempts: z.number().optional(),
  timestamp_ms: z.number().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  body: z.unknown(),
});
export type PulledMessage = z.infer<typeof PulledMessageSchema>;

const PullResponseSchema = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string() })).optional(),
  result: z.object({ messages: z.array(PulledMessageSchema).default([]) }).nullable().optional(),
});

export type Settlement = { lease_id: string; action: "ack" } | { lease_id: string; action: "retry"; delay_seconds: number };

/**
 * The job in a pulled message: `text` bodies are the JSON as is, `json` bodies arrive
 * base64-encoded (as the pull API documents), objects are taken as they are.
 */
export function parseJobBody(message: Pick<PulledMessage, "body" | "metadata">): JobMessage | undefined {
  let value = message.body;
  if (typeof value === "string") {
    const text = message.metadata?.["CF-Content-Type"] === "json" ? Buffer.from(value, "base64").toString("utf8") : value;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  const parsed = JobMessageSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export type ClaimAnswer = "claimed" | "refused" | "unreachable";

/** What to tell the queue after asking to claim: run it and ack, drop it and ack, or hand it back. */
export function settlementFor(leaseId: string, claim: ClaimAnswer, retryDelaySeconds: number): Settlement {
  return claim === "unreachable" ? { lease_id: leaseId, action: "retry", delay_seconds: retryDelaySeconds } : { lease_id: leaseId, action: "ack" };
}

export class QueuePullConsumer {
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly runner: JobRunner,
    private readonly options: QueuePullOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops pulling; the job in hand still finishes (or checkpoints) on the runner. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private url(action: "pull" | "ack"): string {
    const { apiBase, accountId, queueId } = this.options;
    return `${apiBase.replace(/\/$/, "")}/accounts/${accountId}/queues/${queueId}/messages/${action}`;
  }

  private async call(action: "pull" | "ack", body: unknown): Promise<Response> {
    return fetch(this.url(action), {
      method: "POST",
      headers: { authorization: `Bearer ${this.options.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
    });
  }

  /** Pulls at most one message; undefined when the queue is empty or unreachable. */
  async pullOne(): Promise<PulledMessage | undefined> {
    const response = await this.call("pull", { batch_size: 1, visibility_timeout_ms: this.options.visibilityTimeoutMs });
    const parsed = PullResponseSchema.safeParse(await response.json().catch(() => null));
    if (!response.ok || !parsed.success || !parsed.data.success) {
      const problem = parsed.success ? parsed.data.errors?.map((error) => error.message).join("; ") : "unexpected response";
      console.error(`queue pull failed: HTTP ${response.status} ${problem ?? ""}`);
      return undefined;
    }
    return parsed.data.result?.messages[0];
  }

  async settle(settlement: Settlement): Promise<void> {
    const body =
      settlement.action === "ack"
        ? { acks: [{ lease_id: settlement.lease_id }], retries: [] }
        : { acks: [], retries: [{ lease_id: settlement.lease_id, delay_seconds: settlement.delay_seconds }] };
    const response = await this.call("ack", body);
    if (!response.ok) console.error(`queue ack failed: HTTP ${response.status}`);
    await response.body?.cancel();
  }

  /** Asks the job's object whether this host may run the attempt. */
  async claim(job: JobMessage): Promise<ClaimAnswer> {
    const body = JSON.stringify({ job_id: job.job_id, attempt: job.attempt, host: this.options.hostId });
    try {
      const response = await fetch(`${job.callback_url.replace(/\/$/, "")}/claim`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await signedHeaders(this.options.secret, body)) },
        body,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
      });
      const text = await response.text();
      if (response.ok) return "claimed";
      if (response.status === 409 || response.status === 404) {
        console.log(`queue: dropping ${job.job_id} attempt ${job.attempt}: ${text.slice(0, 200)}`);
        return "refused";
      }
      console.error(`queue: claim of ${job.job_id} attempt ${job.attempt} answered ${response.status}`);
    } catch (error) {
      console.error(`queue: claim of ${job.job_id} failed: ${error instanceof Error ? error.message : error}`);
    }
    return "unreachable";
  }

  /** Pulls, claims and runs one job; returns whether there was a message. */
  async processOne(): Promise<boolean> {
    const message = await this.pullOne();
    if (!message) return false;
    const job = parseJobBody(message);
    if (!job) {
      // A body that breaks the contract will never succeed: ack it so it does not loop forever.
      console.error(`queue message ${message.id} is not a valid job; dropping it`);
      await this.settle({ lease_id: message.lease_id, action: "ack" });
      return true;
    }
    // A pushed job may have taken the runner since the pull: let another host have this one.
    const answer = this.runner.currentJob ? "unreachable" : await this.claim(job);
    await this.settle(settlementFor(message.lease_id, answer, this.options.retryDelaySeconds));
    if (answer !== "claimed") return true;
    if (this.runner.submit(job) === "accepted") {
      console.log(`queue: running ${job.job_id} attempt ${job.attempt} on ${this.options.hostId}`);
      const outcome = await this.runner.idle();
      console.log(`queue: ${job.job_id} attempt ${job.attempt} ended ${outcome?.type ?? "unknown"} on ${this.options.hostId}`);
    }
    return true;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const hadJob = await this.processOne().catch((error: unknown) => {
        console.error("queue pull loop:", error instanceof Error ? error.message : error);
        return false;
      });
      if (!hadJob && !this.stopped) await new Promise((resolve) => setTimeout(resolve, this.options.idleDelayMs));
    }
  }
}
