/**
 * `POST /v1/webhooks/replicate?job=…&attempt=…`: where Replicate reports on the
 * trainings and predictions we started. No API key — the Standard Webhooks
 * signature over the raw body is the authorization, and a timestamp more than
 * five minutes off is refused, so a captured delivery cannot be replayed. A
 * request without the signature headers is a 401 at once, before the secret is
 * looked up (which may cost a call to Replicate), and before its query is judged.
 *
 * The answer comes at once; the work (copying outputs into R2, feeding the job
 * object) runs after it under `waitUntil`, because Replicate retries slow
 * endpoints. Repeated deliveries (same `webhook-id`) are skipped; beyond that,
 * every snapshot maps to events with fixed `seq`s, which the job object applies
 * exactly once and only forwards, so duplicates and reordering change nothing.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { isId } from "../../shared/index.js";
import { readReplicateConfig } from "../backends/replicate/config.js";
import { copyUrlToR2 } from "../backends/replicate/copy-output.js";
import { ReplicateJobSchema, type ReplicateJob } from "../backends/replicate/snapshot.js";
import { eventsFromSnapshot } from "../backends/replicate/sync.js";
import { webhookSecret } from "../backends/replicate/webhook-secret.js";
import { verifyWebhook } from "../backends/replicate/webhook-signature.js";
import { ApiError } from "../errors.js";
import { artifactKey } from "../jobs/artifact-keys.js";
import { jobStore } from "../jobs/job-do.js";
import { createRouter } from "../router.js";
import type { AppEnv } from "../types.js";
import { errorResponse, jsonContent } from "../responses.js";

const WebhookQuerySchema = z.object({
  job: z
    .string()
    .refine((id) => isId("training", id) || isId("generation", id), "must be a training or generation id"),
  attempt: z.coerce.number().int().min(1).max(100),
});

/** Webhook ids seen lately by this isolate; the job object's (attempt, seq) log is the lasting dedupe. */
const recentDeliveries = new Set<string>();
const RECENT_LIMIT = 2000;

function remember(deliveryId: string): boolean {
  if (recentDeliveries.has(deliveryId)) return false;
  recentDeliveries.add(deliveryId);
  if (recentDeliveries.size > RECENT_LIMIT) recentDeliveries.delete(recentDeliveries.values().next().value!);
  return true;
}

/** Turns one verified snapshot into events and hands them to the job's object. */
async function applySnapshot(env: AppEnv["Bindings"], jobId: string, attempt: number, snapshot: ReplicateJob) {
  const job = jobStore(env, jobId);
  const record = await job.get();
  // Another attempt's job, or a Replicate id this attempt did not start: nothing of ours.
  if (!record || record.attempt !== attempt || (record.backend_ref && record.backend_ref !== snapshot.id)) return;
  const events = await eventsFromSnapshot(snapshot, record, {
    job_id: jobId,
    attempt,
    lastSeq: -1,
    async copy(file) {
      const known = record.artifacts.find((artifact) => artifact.name === file.name && artifact.attempt === attempt);
      if (known) return { sha256: known.sha256, size: known.size };
      const key = artifactKey(record, file.name);
      if (!key) throw new Error(`job ${jobId} may not write ${file.name}`);
      return copyUrlToR2(env.BUCKET, file.url, key, file.content_type);
    },
  });
  for (const event of events) await job.ingest(event);
}

/** Refuses a delivery that does not even carry the Standard Webhooks headers. */
const refuseUnsigned = createMiddleware<AppEnv>(async (c, next) => {
  const missing = ["webhook-id", "webhook-timestamp", "webhook-signature"].filter((name) => !c.req.header(name));
  if (missing.length > 0) throw new ApiError(401, "invalid_signature", `Webhook signature rejected: missing ${missing.join(", ")}`);
  await next();
});

const receive = createRoute({
  method: "post",
  path: "/",
  tags: ["webhooks"],
  summary: "Replicate's signed status webhooks for the trainings and predictions we started",
  request: { query: WebhookQuerySchema },
  middleware: [refuseUnsigned] as const,
  responses: {
    200: jsonContent(z.object({ received: z.boolean(), duplicate: z.boolean() }), "Accepted; processed after the answer"),
    400: errorResponse("Malformed query or body"),
    401: errorResponse("Missing, stale or wrong signature"),
    503: errorResponse("Neither REPLICATE_WEBHOOK_SECRET nor REPLICATE_API_TOKEN is configured"),
  },
});

export const replicateWebhook = createRouter().openapi(receive, async (c) => {
  const { job, attempt } = c.req.valid("query");
  const secret = await webhookSecret(readReplicateConfig(c.env)).catch(() => {
    throw new ApiError(503, "replicate_unavailable", "Could not fetch the webhook secret from Replicate");
  });
  if (!secret) {
    throw new ApiError(503, "missing_secret", "REPLICATE_WEBHOOK_SECRET is not configured on this deployment");
  }
  const body = await c.req.text();
  const headers = {
    id: c.req.header("webhook-id"),
    timestamp: c.req.header("webhook-timestamp"),
    signature: c.req.header("webhook-signature"),
  };
  const check = await verifyWebhook(secret, headers, body);
  if (!check.ok) throw new ApiError(401, "invalid_signature", `Webhook signature rejected: ${check.reason}`);
  let snapshot: ReplicateJob;
  try {
    snapshot = ReplicateJobSchema.parse(JSON.parse(body));
  } catch {
    throw new ApiError(400, "bad_request", "Webhook body is not a Replicate training or prediction");
  }
  if (!remember(headers.id!)) return c.json({ received: true, duplicate: true }, 200);
  c.executionCtx.waitUntil(
    applySnapshot(c.env, job, attempt, snapshot).catch((error: unknown) =>
      // The polling fallback picks up whatever this delivery could not finish.
      console.warn("replicate webhook processing failed", job, error),
    ),
  );
  return c.json({ received: true, duplicate: false }, 200);
});
