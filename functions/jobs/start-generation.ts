/**
 * Starting a generation: render a trained subject in new scenes. The prompt may
 * say `{subject}`, which expands to the training's "identifier class_noun"; the
 * seed, width and height are fixed at creation (random seed, the training's
 * resolution) so the record says exactly how each image was made. A generation
 * runs where its training did unless the request names a backend.
 */
import { z } from "@hono/zod-openapi";
import { expandSubjectPlaceholder, GenerationParamsSchema, newId } from "../../shared/index.js";
import { chooseBackend } from "../backends/choose.js";
import { BACKEND_NAMES, backendEntry } from "../backends/index.js";
import type { Caller } from "../caller.js";
import { ApiError } from "../errors.js";
import type { ChatTarget } from "./chat-target.js";
import { findJob } from "./lookup.js";
import type { GenerationRecord, NewGenerationRecord, TrainingRecord } from "./record.js";
import { startJob } from "./start-job.js";

export const GenerationRequestSchema = GenerationParamsSchema.extend({
  training_id: z.string().min(1).max(64),
  backend: z.enum(BACKEND_NAMES).optional().openapi({ description: "Defaults to the training's backend" }),
  webhook_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
}).openapi("CreateGeneration");
export type GenerationRequest = z.infer<typeof GenerationRequestSchema>;

/** The trained weights a generation applies: the diffusers LoRA, or the full export. */
function weightsOf(training: TrainingRecord): NewGenerationRecord["weights"] {
  // Replicate's trainer leaves its own weights bundle, which only Replicate renders with.
  const replicateTrained = training.artifacts.some((artifact) => artifact.format === "cog-sdxl-lora");
  const format = replicateTrained ? "cog-sdxl-lora" : training.params.method === "lora" ? "diffusers-lora" : "diffusers";
  const files = training.artifacts
    .filter((artifact) => artifact.format === format)
    .map((artifact) => ({
      name: artifact.name,
      key: artifact.key,
      sha256: artifact.sha256,
      size: artifact.size,
      content_type: artifact.content_type,
    }));
  if (files.length === 0) throw new ApiError(409, "training_not_ready", `Training ${training.id} has no ${format} weights`);
  return { format, method: training.params.method, files };
}

/** Starts a generation from a succeeded training; `notify` is where a chat bot wants to hear that it ended. */
export async function startGeneration(caller: Caller, request: GenerationRequest, origin: string, notify?: ChatTarget): Promise<GenerationRecord> {
  const { env, accountId } = caller;
  const { training_id, backend, webhook_url, ...params } = request;
  const training = await findJob(caller, "train", training_id);
  if (training.status !== "succeeded") {
    throw new ApiError(409, "training_not_ready", `Training ${training.id} is ${training.status}, not succeeded`);
  }
  const record = {
    id: newId("generation"),
    kind: "generate" as const,
    account_id: accountId,
    mode: caller.keyMode,
    backend: chooseBackend({ keyMode: caller.keyMode, requested: backend, inherited: training.backend, env }),
    base_model: training.base_model,
    training_id: training.id,
    params: {
      ...params,
      prompt: expandSubjectPlaceholder(params.prompt, training.subject),
      seed: params.seed ?? crypto.getRandomValues(new Uint32Array(1))[0],
      width: params.width ?? training.params.resolution,
      height: params.height ?? training.params.resolution,
    },
    weights: weightsOf(training),
    ...(webhook_url ? { webhook_url } : {}),
    ...(notify ? { notify } : {}),
  } satisfies NewGenerationRecord;
  backendEntry(record.backend).admitGeneration?.(env, record);
  return startJob(caller, record, origin);
}
