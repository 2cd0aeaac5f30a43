/**
 * Queue-pull mode for scale-out: instead of the Worker pushing jobs to one
 * backend, any number of GPU hosts pull them from a Cloudflare Queue with the
 * Queues HTTP pull API (`POST …/queues/{queue_id}/messages/pull`, then
 * `…/messages/ack` with `acks` and `retries`). A host pulls one message when its
 * runner is idle, leases it for the visibility timeout, runs it through the same
 * runner as pushed jobs (so events, uploads and cancel are identical), and then
 * acks it — or hands it back with a delay when the outcome is retryable (e.g. a
 * shutdown mid-training, which resumes from its checkpoint on another host).
 * The queue, not an HMAC, authenticates these messages (API token over HTTPS);
 * the body is still validated against the job contract.
 */
import { z } from "zod";
import { JobMessageSchema, type JobMessage } from "../../../shared/job.js";
import type { JobOutcome, JobRunner } from "../jobs/job-runner.js";

export interface QueuePullOptions {
  /** https://api.cloudflare.com/client/v4, or a local fake in tests. */
  apiBase: string;
  accountId: string;
  queueId: string;
  apiToken: string;
  /** How long a pulled job is leased to this host; sized to outlast a training (the API allows up to 12 h). */
  visibilityTimeoutMs: number;
  /** Wait between pulls of an empty queue. */
  idleDelayMs: number;
  /** Delay before a retryable job becomes visible again. */
  retryDelaySeconds: number;
}

const PulledMessageSchema = z.object({
  id: z.string(),
  lease_id: z.string(),
  attempts: z.number().optional(),
  timestamp_ms: z.number().optional(),
  body: z.unknown(),
});

const PullResponseSchema = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string() })).optional(),
  result: z.object({ messages: z.array(PulledMessageSchema).default([]) }).nullable().optional(),
});

export type Settlement = { lease_id: string; action: "ack" } | { lease_id: string; action: "retry"; delay_seconds: number };

/** A message body is the job as JSON text (content type "json"/"text") or already an object. */
export function parseJobBody(body: unknown): JobMessage | undefined {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const parsed = JobMessageSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** What to tell the queue about a finished job: only retryable failures go back for another attempt. */
export function settlementFor(leaseId: string, outcome: JobOutcome, retryDelaySeconds: number): Settlement {
  return outcome.retryable
    ? { lease_id: leaseId, action: "retry", delay_seconds: retryDelaySeconds }
    : { lease_id: leaseId, action: "ack" };
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

  /** Stops pulling; the job in hand still finishes (or checkpoints) and is settled. */
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
    });
  }

  /** Pulls at most one message; undefined when the queue is empty or unreachable. */
  async pullOne(): Promise<z.infer<typeof PulledMessageSchema> | undefined> {
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

  /** Pulls, runs and settles one job; returns whether there was one. */
  async processOne(): Promise<boolean> {
    const message = await this.pullOne();
    if (!message) return false;
    const job = parseJobBody(message.body);
    if (!job) {
      // A body that breaks the contract will never succeed: ack it so it does not loop forever.
      console.error(`queue message ${message.id} is not a valid job; dropping it`);
      await this.settle({ lease_id: message.lease_id, action: "ack" });
      return true;
    }
    if (this.runner.submit(job) !== "accepted") {
      await this.settle({ lease_id: message.lease_id, action: "retry", delay_seconds: this.options.retryDelaySeconds });
      return true;
    }
    const outcome = await this.runner.idle();
    await this.settle(settlementFor(message.lease_id, outcome ?? { type: "failed", retryable: true }, this.options.retryDelaySeconds));
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
