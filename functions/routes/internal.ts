/**
 * The backend-facing routes, authenticated by the HMAC of shared/signing.ts rather
 * than an API key: `POST /internal/jobs/:id/events` takes a GPU backend's signed
 * events, and `POST /internal/jobs/:id/events/uploads` hands it a short-lived signed
 * PUT URL for a file it produced. The signature is checked before anything else is
 * read, so an unsigned caller learns nothing but 401.
 *
 * Answers to events: 200 `{result: "applied" | "duplicate"}` (a redelivery is fine);
 * 409 when the event is for an attempt that is no longer current or a job that has
 * ended — the backend should stop working on that attempt. In queue dispatch a host
 * claims an attempt (`POST …/events/claim`) before running it; 409 there means
 * "ack the message and drop it".
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import {
  BackendEventSchema,
  ClaimJobSchema,
  type BackendEvent,
  isTerminal,
  UploadSlotRequestSchema,
  UploadSlotSchema,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from "../../shared/index.js";
import { ApiError } from "../errors.js";
import { artifactKey } from "../jobs/artifact-keys.js";
import { jobStore } from "../jobs/job-do.js";
import type { JobRecord } from "../jobs/record.js";
import { createRouter } from "../router.js";
import { requireSecret } from "../secrets.js";
import { signObjectUrl } from "../storage/signed-urls.js";
import type { AppEnv } from "../types.js";
import { errorResponse, jsonContent } from "../responses.js";

/** The most one artifact upload may carry: R2's limit for a single PUT (a full fp32 UNet is 3.4 GB). */
const ARTIFACT_MAX_BYTES = 5 * 1024 ** 3;
/** Lifetime of an upload URL: long enough for a multi-GB export to start, short enough to be useless later. */
const UPLOAD_URL_TTL_S = 15 * 60;

const requireBackendSignature = createMiddleware<AppEnv>(async (c, next) => {
  const secret = requireSecret(c.env, "BACKEND_SIGNING_SECRET");
  const check = await verifySignature(
    secret,
    await c.req.text(),
    c.req.header(TIMESTAMP_HEADER),
    c.req.header(SIGNATURE_HEADER),
  );
  if (!check.ok) throw new ApiError(401, "invalid_signature", `Backend signature rejected: ${check.reason}`);
  await next();
});

const JobParams = z.object({ id: z.string().min(1).max(64) });

const signatureHeaders = z.object({
  [TIMESTAMP_HEADER]: z.string().openapi({ description: "Unix seconds" }),
  [SIGNATURE_HEADER]: z.string().openapi({ description: "v1=<hex HMAC-SHA256 of `${timestamp}.${body}`>" }),
});

const internalErrors = {
  400: errorResponse("Invalid event or slot request"),
  401: errorResponse("Missing, wrong or stale signature"),
  404: errorResponse("No such job"),
  409: errorResponse("Stale attempt or finished job: stop working on it"),
};

const postEvent = createRoute({
  method: "post",
  path: "/jobs/{id}/events",
  tags: ["internal"],
  summary: "A GPU backend reports a job event (HMAC-signed)",
  middleware: [requireBackendSignature] as const,
  request: {
    params: JobParams,
    headers: signatureHeaders,
    body: { content: { "application/json": { schema: BackendEventSchema } }, required: true },
  },
  responses: {
    200: jsonContent(z.object({ result: z.enum(["applied", "duplicate"]), status: z.string().optional() }), "Recorded"),
    ...internalErrors,
  },
});

const postUploadSlot = createRoute({
  method: "post",
  path: "/jobs/{id}/events/uploads",
  tags: ["internal"],
  summary: "A GPU backend asks where to PUT a file it produced (HMAC-signed)",
  middleware: [requireBackendSignature] as const,
  request: {
    params: JobParams,
    headers: signatureHeaders,
    body: { content: { "application/json": { schema: UploadSlotRequestSchema } }, required: true },
  },
  responses: { 200: jsonContent(UploadSlotSchema, "A signed PUT URL"), ...internalErrors },
});

const postClaim = createRoute({
  method: "post",
  path: "/jobs/{id}/events/claim",
  tags: ["internal"],
  summary: "A GPU host that pulled an attempt from the job queue claims it before running it (HMAC-signed)",
  middleware: [requireBackendSignature] as const,
  request: {
    params: JobParams,
    headers: signatureHeaders,
    body: { content: { "application/json": { schema: ClaimJobSchema } }, required: true },
  },
  responses: {
    200: jsonContent(z.object({ result: z.literal("claimed"), attempt: z.number().int() }), "The attempt is this host's to run"),
    ...internalErrors,
  },
});

/**
 * An artifact is recorded only once its file is in R2 with the announced size, so a
 * job never lists a download that would 404. (Its sha256 is the backend's word: R2
 * cannot hash an object after the fact without reading it whole.)
 */
async function expectUploaded(bucket: R2Bucket, record: JobRecord | null, event: Extract<BackendEvent, { type: "artifact" }>) {
  if (!record) return;
  const key = artifactKey(record, event.name);
  const stored = key ? await bucket.head(key) : null;
  if (key && !stored) throw new ApiError(400, "artifact_not_uploaded", `${event.name} is not uploaded; PUT it to an upload slot first`);
  if (stored && stored.size !== event.size) {
    throw new ApiError(400, "artifact_size_mismatch", `${event.name} is ${stored.size} bytes in storage, the event says ${event.size}`);
  }
}

function sameJob(pathId: string, bodyId: string): void {
  if (pathId !== bodyId) throw new ApiError(400, "job_mismatch", `Body is for ${bodyId}, path for ${pathId}`);
}

export const internal = createRouter()
  .openapi(postEvent, async (c) => {
    const { id } = c.req.valid("param");
    const event = c.req.valid("json");
    sameJob(id, event.job_id);
    const job = jobStore(c.env, id);
    if (event.type === "artifact") await expectUploaded(c.env.BUCKET, await job.get(), event);
    const outcome = await job.ingest(event);
    switch (outcome.result) {
      case "unknown_job":
        throw new ApiError(404, "not_found", `No job ${id}`);
      case "ignored":
        throw new ApiError(409, outcome.reason, `Event ignored: ${outcome.reason.replaceAll("_", " ")}`);
      case "duplicate":
        return c.json({ result: "duplicate" as const }, 200);
      case "applied":
        return c.json({ result: "applied" as const, status: outcome.status }, 200);
    }
  })
  .openapi(postClaim, async (c) => {
    const { id } = c.req.valid("param");
    const request = c.req.valid("json");
    sameJob(id, request.job_id);
    const outcome = await jobStore(c.env, id).claim(request.attempt, request.host);
    if (outcome.kind === "unknown_job") throw new ApiError(404, "not_found", `No job ${id}`);
    if (outcome.kind === "refused") throw new ApiError(409, outcome.reason, `Claim refused: ${outcome.reason.replaceAll("_", " ")}`);
    return c.json({ result: "claimed" as const, attempt: request.attempt }, 200);
  })
  .openapi(postUploadSlot, async (c) => {
    const { id } = c.req.valid("param");
    const slotRequest = c.req.valid("json");
    sameJob(id, slotRequest.job_id);
    const record = await jobStore(c.env, id).get();
    if (!record) throw new ApiError(404, "not_found", `No job ${id}`);
    if (slotRequest.attempt !== record.attempt || isTerminal(record.status)) {
      throw new ApiError(409, "stale_attempt", `Attempt ${slotRequest.attempt} of ${id} is not live`);
    }
    const key = artifactKey(record, slotRequest.name);
    if (!key) throw new ApiError(400, "unknown_artifact", `${id} has no place for ${slotRequest.name}`);
    const slot = await signObjectUrl(c.env, new URL(c.req.url).origin, {
      method: "PUT",
      key,
      contentType: slotRequest.content_type,
      size: slotRequest.size,
      maxBytes: ARTIFACT_MAX_BYTES,
      expiresInS: UPLOAD_URL_TTL_S,
    });
    return c.json({ url: slot.url, method: "PUT" as const, headers: slot.headers, expires_at: slot.expires_at }, 200);
  });
