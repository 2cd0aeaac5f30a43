/**
 * Signed events to the Worker's callback URL. Events go out one at a time in the
 * order they were made, each numbered by a per-attempt `seq` the Worker dedupes
 * on, so a retried delivery is harmless. Delivery retries with backoff while the
 * callback is down; training never waits for it except at the end (`flush`),
 * which is what makes a job "end right" after an outage. Progress is rate-limited
 * (the first, the last, a phase change, otherwise at most one per interval)
 * because the Durable Object pays for every write. A 409 means the Worker no longer
 * wants this attempt (stale, or the job ended): `superseded` is set, later events
 * are dropped, and the job stops at its next step boundary.
 */
import { BackendEventSchema, type BackendEvent } from "../../../shared/job.js";
import { signedHeaders } from "../../../shared/signing.js";
import { DEFAULT_RETRY, fetchWithRetry, type RetryPolicy } from "./retry.js";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventBody = DistributiveOmit<BackendEvent, "job_id" | "attempt" | "seq" | "ts">;
export type ProgressBody = Extract<EventBody, { type: "progress" }>;

export interface EventReporterOptions {
  jobId: string;
  attempt: number;
  callbackUrl: string;
  secret: string;
  retry?: RetryPolicy;
  progressIntervalMs?: number;
}

export class EventReporter {
  private seq = 0;
  private queue: Promise<void> = Promise.resolve();
  private lastProgressAt = -Infinity;
  private lastProgressPhase: string | undefined;
  /** Events given up on after the retry deadline; reported by `flush`. */
  undelivered = 0;
  /** The Worker's 409 reason once it refused this attempt; nothing is sent after it. */
  superseded: string | undefined;

  constructor(private readonly options: EventReporterOptions) {}

  /** Queues an event; resolves once it is delivered (or given up on). */
  emit(body: EventBody): Promise<void> {
    const event = BackendEventSchema.parse({
      ...body,
      job_id: this.options.jobId,
      attempt: this.options.attempt,
      seq: this.seq++,
      ts: Date.now(),
    });
    const delivery = this.queue.then(() => this.deliver(event));
    this.queue = delivery;
    return delivery;
  }

  /** Emits a progress event unless one went out less than the interval ago. */
  progress(body: Omit<ProgressBody, "type">): void {
    const now = Date.now();
    const isFirstOfPhase = body.phase !== this.lastProgressPhase;
    const isLast = body.step >= body.total_steps;
    const interval = this.options.progressIntervalMs ?? 1000;
    if (!isFirstOfPhase && !isLast && now - this.lastProgressAt < interval) return;
    this.lastProgressAt = now;
    this.lastProgressPhase = body.phase;
    void this.emit({ type: "progress", ...body });
  }

  /** Waits until every queued event was delivered or given up on. */
  async flush(): Promise<void> {
    await this.queue;
  }

  /** Marks the attempt refused by the Worker (a 409 on an event or an upload slot). */
  supersede(reason: string): void {
    this.superseded ??= reason;
  }

  private async deliver(event: BackendEvent): Promise<void> {
    if (this.superseded) return;
    const body = JSON.stringify(event);
    const { callbackUrl, secret, retry = DEFAULT_RETRY } = this.options;
    try {
      const response = await fetchWithRetry(
        callbackUrl,
        async () => ({
          method: "POST",
          headers: { "content-type": "application/json", ...(await signedHeaders(secret, body)) },
          body,
        }),
        retry,
      );
      if (response.status === 409) {
        this.supersede(await response.text());
        console.warn(`event ${event.type} seq ${event.seq} refused with 409: stopping attempt ${event.attempt}`);
      } else if (!response.ok) {
        console.warn(`event ${event.type} seq ${event.seq} rejected: HTTP ${response.status} ${await response.text()}`);
      } else {
        await response.body?.cancel();
      }
    } catch (error) {
      this.undelivered++;
      console.error(`event ${event.type} seq ${event.seq} lost:`, error instanceof Error ? error.message : error);
    }
  }
}
