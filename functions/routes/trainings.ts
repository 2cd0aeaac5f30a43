/**
 * Trainings: start one from a finalized subject, read its status and artifacts,
 * follow it live, cancel it. Parameters are validated against the shared
 * `TrainingParamsSchema` and stored fully resolved (defaults from the paper and the
 * diffusers scripts filled in), so a record shows exactly what it ran with.
 */
import { createRoute, z } from "@hono/zod-openapi";
import {
  classImagesCacheKey,
  newId,
  r2Keys,
  resolveTrainingParams,
  TrainingParamsSchema,
  type TrainingParamsInput,
} from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { startChargedJob, type Caller } from "../billing/charges.js";
import { BACKEND_NAMES, isBackendName } from "../backends/index.js";
import { checkReplicateTraining } from "../backends/replicate/requests.js";
import { JSON_BODY_LIMIT, limitBody } from "../body-limit.js";
import { ApiError } from "../errors.js";
import { BASE_MODEL_NAMES, BASE_MODELS, chooseBaseModel } from "../jobs/base-models.js";
import { jobStore } from "../jobs/job-do.js";
import { findJob } from "../jobs/lookup.js";
import type { JobRecord, NewTrainingRecord, TrainingRecord } from "../jobs/record.js";
import type { ChatTarget } from "../bots/chat-target.js";
import { readQualityReport } from "../jobs/quality.js";
import { trainingView, TrainingViewSchema } from "../jobs/views.js";
import { createRouter } from "../router.js";
import { findSubject } from "../subjects/lookup.js";
import { callerOf, cancelJob, eventStreamResponse, JobIdParams, openEventStream, originOf, security } from "./job-actions.js";
import { chargeResponses, errorResponse, errorResponses, jsonContent } from "./responses.js";

export const CreateTrainingSchema = z
  .object({
    subject_id: z.string().min(1).max(64),
    backend: z.enum(BACKEND_NAMES).optional().openapi({ description: "Defaults to the deployment's DEFAULT_BACKEND" }),
    base_model: z
      .enum(BASE_MODEL_NAMES)
      .optional()
      .openapi({ description: "Defaults to the deployment's DEFAULT_BASE_MODEL (sd15 on GPU hosts)" }),
    params: TrainingParamsSchema.default(() => TrainingParamsSchema.parse({})),
    webhook_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
  })
  .strict()
  .openapi("CreateTraining");

/** The backend a request names, else the deployment's default, which must be one we know. */
export function chooseBackend(requested: string | undefined, env: Env): string {
  const backend = requested ?? env.DEFAULT_BACKEND;
  if (!isBackendName(backend)) {
    throw new ApiError(503, "misconfigured", `DEFAULT_BACKEND "${backend}" is not one of ${BACKEND_NAMES.join(", ")}`);
  }
  return backend;
}

export interface StartOptions {
  /** The params exactly as the client sent them, before defaults: tells explicit choices from defaults. */
  requestedParams?: TrainingParamsInput;
  /** Where a chat bot wants to hear that the job ended. */
  notify?: ChatTarget;
}

/**
 * Starts a training of a finalized subject, reserving its price first. The API
 * route and the chat bots both call this, so every job is checked and charged alike.
 */
export async function startTraining(
  caller: Caller,
  body: z.infer<typeof CreateTrainingSchema>,
  origin: string,
  { requestedParams = {}, notify }: StartOptions = {},
): Promise<TrainingRecord> {
  const { env, accountId } = caller;
  const subject = await findSubject(env, accountId, body.subject_id);
  if (subject.status !== "ready") {
    throw new ApiError(409, "subject_not_finalized", `Subject ${subject.id} must be finalized before training`);
  }
  const baseModelName = chooseBaseModel(body.base_model, env);
  const baseModel = BASE_MODELS[baseModelName];
  const backend = chooseBackend(body.backend, env);
  let params = resolveTrainingParams(body.params, subject, baseModel, crypto.getRandomValues(new Uint32Array(1))[0]);
  if (backend === "replicate") params = checkReplicateTraining(env, requestedParams, params, subject);
  const prior = params.prior_preservation;
  const record: NewTrainingRecord = {
    id: newId("training"),
    kind: "train",
    account_id: accountId,
    backend,
    base_model: baseModelName,
    subject: { id: subject.id, identifier: subject.identifier, class_noun: subject.class_noun },
    params,
    inputs: subject.photos.map((photo) => ({
      name: photo.name,
      key: r2Keys.photo(accountId, subject.id, photo.name),
      sha256: photo.sha256,
      size: photo.size,
      content_type: photo.content_type,
    })),
    ...(prior.enabled
      ? {
          class_images_cache_key: await classImagesCacheKey({
            baseModel: baseModelName,
            classPrompt: prior.class_prompt,
            count: prior.num_class_images,
            resolution: params.resolution,
          }),
        }
      : {}),
    ...(body.webhook_url ? { webhook_url: body.webhook_url } : {}),
    ...(notify ? { notify } : {}),
  };
  const created: JobRecord = await startChargedJob(caller, record, async (charged) => (await jobStore(env, record.id).create(charged, origin)) as JobRecord);
  await accountStore(env, accountId).recordTraining({
    id: created.id,
    subject_id: subject.id,
    status: created.status,
    created_at: created.created_at,
  });
  return created as TrainingRecord;
}

const createTraining = createRoute({
  method: "post",
  path: "/",
  tags: ["trainings"],
  summary: "Start a DreamBooth training of a finalized subject",
  security,
  middleware: [limitBody(JSON_BODY_LIMIT)] as const,
  request: { body: { content: { "application/json": { schema: CreateTrainingSchema } }, required: true } },
  responses: {
    202: jsonContent(TrainingViewSchema, "Accepted: queued for a GPU backend"),
    ...errorResponses,
    ...chargeResponses,
    409: errorResponse("The subject is not finalized"),
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
  },
});

const getTraining = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["trainings"],
  summary: "Status, progress and artifacts of a training",
  security,
  request: { params: JobIdParams },
  responses: { 200: jsonContent(TrainingViewSchema, "The training"), ...errorResponses },
});

const trainingEvents = createRoute({
  method: "get",
  path: "/{id}/events",
  tags: ["trainings"],
  summary: "Live state and progress of a training (Server-Sent Events)",
  security,
  request: { params: JobIdParams },
  responses: { 200: eventStreamResponse, ...errorResponses },
});

const cancelTraining = createRoute({
  method: "post",
  path: "/{id}/cancel",
  tags: ["trainings"],
  summary: "Cancel a training",
  security,
  request: { params: JobIdParams },
  responses: {
    202: jsonContent(TrainingViewSchema, "Canceled"),
    ...errorResponses,
    409: errorResponse("The training already ended"),
  },
});

export const trainings = createRouter()
  .openapi(createTraining, async (c) => {
    const origin = originOf(c.req.url);
    // The raw body tells the client's explicit choices from defaults a backend may replace.
    const requestedParams = ((await c.req.json()) as { params?: TrainingParamsInput }).params ?? {};
    const record = await startTraining(callerOf(c), c.req.valid("json"), origin, { requestedParams });
    return c.json(trainingView(record, origin), 202);
  })
  .openapi(getTraining, async (c) => {
    const record = await findJob(c.env, c.get("accountId"), "train", c.req.valid("param").id);
    return c.json(trainingView(record, originOf(c.req.url), await readQualityReport(c.env.BUCKET, record)), 200);
  })
  .openapi(trainingEvents, async (c) => {
    const record = await findJob(c.env, c.get("accountId"), "train", c.req.valid("param").id);
    return openEventStream(c.env, record.id, c.req.raw);
  })
  .openapi(cancelTraining, async (c) => {
    const record = await findJob(c.env, c.get("accountId"), "train", c.req.valid("param").id);
    return c.json(trainingView(await cancelJob(c.env, record), originOf(c.req.url)), 202);
  });
