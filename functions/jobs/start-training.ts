/**
 * Starting a training: the request (as the client sent it, defaults not yet
 * filled in), a finalized subject, then the backend's admission, the class-image
 * cache key and `startJob`. Parameters are stored fully resolved (the paper's and
 * the diffusers scripts' defaults filled in), so a record shows exactly what it
 * ran with; the request's own params are kept apart only for the admission, since
 * a backend refuses what a client explicitly asked for and merely adapts defaults.
 */
import { z } from "@hono/zod-openapi";
import { classImagesCacheKey, newId, r2Keys, resolveTrainingParams, TrainingParamsRequestSchema, TrainingParamsSchema } from "../../shared/index.js";
import { chooseBackend } from "../backends/choose.js";
import { BACKEND_NAMES, backendEntry } from "../backends/index.js";
import type { Caller } from "../caller.js";
import { ApiError } from "../errors.js";
import { findSubject } from "../subjects/lookup.js";
import { BASE_MODEL_NAMES, BASE_MODELS, chooseBaseModel } from "./base-models.js";
import type { ChatTarget } from "./chat-target.js";
import type { NewTrainingRecord, TrainingRecord } from "./record.js";
import { startJob } from "./start-job.js";

export const TrainingRequestSchema = z
  .object({
    subject_id: z.string().min(1).max(64),
    backend: z.enum(BACKEND_NAMES).optional().openapi({ description: "Defaults to the deployment's DEFAULT_BACKEND" }),
    base_model: z
      .enum(BASE_MODEL_NAMES)
      .optional()
      .openapi({ description: "Defaults to the deployment's DEFAULT_BASE_MODEL (sd15 on GPU hosts)" }),
    params: TrainingParamsRequestSchema.optional(),
    webhook_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
  })
  .strict()
  .openapi("CreateTraining");
export type TrainingRequest = z.infer<typeof TrainingRequestSchema>;

/** Starts a training of a finalized subject; `notify` is where a chat bot wants to hear that it ended. */
export async function startTraining(caller: Caller, request: TrainingRequest, origin: string, notify?: ChatTarget): Promise<TrainingRecord> {
  const { env, accountId } = caller;
  const subject = await findSubject(caller, request.subject_id);
  if (subject.status !== "ready") {
    throw new ApiError(409, "subject_not_finalized", `Subject ${subject.id} must be finalized before training`);
  }
  const baseModelName = chooseBaseModel(request.base_model, env);
  const backend = chooseBackend({ keyMode: caller.keyMode, requested: request.backend, env });
  const requested = request.params ?? {};
  const resolved = resolveTrainingParams(
    TrainingParamsSchema.parse(requested),
    subject,
    BASE_MODELS[baseModelName],
    crypto.getRandomValues(new Uint32Array(1))[0],
  );
  const params = backendEntry(backend).admitTraining?.(env, { requested, resolved, subject }) ?? resolved;
  const prior = params.prior_preservation;
  const record: NewTrainingRecord = {
    id: newId("training"),
    kind: "train",
    account_id: accountId,
    mode: caller.keyMode,
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
    ...(request.webhook_url ? { webhook_url: request.webhook_url } : {}),
    ...(notify ? { notify } : {}),
  };
  return startJob(caller, record, origin);
}
