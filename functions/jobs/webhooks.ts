/**
 * Customer webhooks: every state change of a job with a `webhook_url` (its own, or
 * the account's default) is POSTed there as a Standard Webhooks message —
 * `{type: "training.running" | "generation.succeeded" | …, timestamp, data: job}`
 * with the job's public JSON — signed with the account's `whsec_` secret. Failed
 * deliveries are retried on the job's alarm with growing waits; after the last one
 * the delivery is marked failed in the job's delivery log. The URL is checked again
 * at send time with the same policy it was accepted under, and a redirect is not
 * followed (it counts as a failed delivery): a public URL must not be able to bounce
 * the signed request to an address the policy refuses.
 */
import { webhookHeaders } from "../billing/webhook-signing.js";
import { webhookUrlProblem } from "../billing/webhook-url.js";
import type { JobRecord } from "./record.js";

/** Waits before each retry of a failed delivery; after the last one we give up. */
export const WEBHOOK_RETRY_DELAYS_MS = [10_000, 60_000, 300_000, 1_800_000] as const;
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** Delay before the next try after `failures` failed deliveries, or null when there is none. */
export function webhookRetryDelay(failures: number): number | null {
  return WEBHOOK_RETRY_DELAYS_MS[failures - 1] ?? null;
}

export function webhookEventType(record: JobRecord): string {
  return `${record.kind === "train" ? "training" : "generation"}.${record.status}`;
}

export function webhookPayload(type: string, job: unknown, now: number): string {
  return JSON.stringify({ type, timestamp: new Date(now).toISOString(), data: job });
}

/** One signed POST; resolves to whether it was a 2xx and what happened, for the log. */
export async function sendWebhook(
  url: string,
  message: { id: string; payload: string },
  secret: string,
  allowPrivate: boolean,
): Promise<{ delivered: boolean; outcome: string }> {
  const problem = webhookUrlProblem(url, allowPrivate);
  if (problem) return { delivered: false, outcome: `webhook_url ${problem}` };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "dreambooth-edge-webhooks",
        ...(await webhookHeaders(secret, message.id, message.payload, Date.now())),
      },
      body: message.payload,
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    const redirected = response.status >= 300 && response.status < 400 ? " (redirects are not followed)" : "";
    return { delivered: response.ok, outcome: `status ${response.status}${redirected}` };
  } catch (error) {
    return { delivered: false, outcome: error instanceof Error ? error.message : String(error) };
  }
}
