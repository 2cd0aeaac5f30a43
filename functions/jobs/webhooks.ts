/**
 * The `webhook_url` a client gave when creating a job is told once the job ends:
 * a POST of `{type: "training.succeeded" | …, job}` with the same JSON as the GET
 * route. Deliveries that fail are retried a few times on the job's alarm. The body is
 * a notification, not a credential: a receiver that acts on it should GET the job with
 * its API key, which is also why a forged call can do no harm.
 */
import type { JobRecord } from "./record.js";

/** Waits before each retry of a failed delivery; after the last one we give up. */
export const WEBHOOK_RETRY_DELAYS_MS = [10_000, 60_000, 300_000] as const;
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** Delay before the next try after `failures` failed deliveries, or null when there is none. */
export function webhookRetryDelay(failures: number): number | null {
  return WEBHOOK_RETRY_DELAYS_MS[failures - 1] ?? null;
}

export function webhookEventType(record: JobRecord): string {
  return `${record.kind === "train" ? "training" : "generation"}.${record.status}`;
}
