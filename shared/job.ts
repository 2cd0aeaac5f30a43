/**
 * The Worker ⇄ GPU backend contract: the job message the Worker dispatches, the
 * events the backend reports back, and the upload-slot exchange through which the
 * backend obtains short-lived signed URLs for what it produces.
 *
 * Every message is JSON signed with `signing.ts`. The backend never holds storage
 * credentials: inputs come as signed GET URLs in the job, outputs go to signed PUT
 * URLs it asks the Worker for (`UploadSlotRequest`), named by `ArtifactName`, so the
 * Worker alone decides where in R2 each file lands.
 */
import { z } from "zod";
import { SelectedCheckpointSchema } from "./checkpoint-selection.js";
import { GenerationParamsSchema, TrainingParamsSchema, TRAINING_METHODS } from "./params.js";
import { QualityReportSchema } from "./quality.js";

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");
const BaseModelId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);

export const InputFileSchema = z.object({
  name: z.string().min(1).max(200),
  url: z.url(),
  sha256: Sha256Hex,
  size: z.number().int().nonnegative(),
  content_type: z.string().max(100).optional(),
  /** Per-photo caption used instead of the instance prompt; `{subject}` expands to "identifier class_noun". */
  caption: z.string().min(1).max(300).optional(),
});
export type InputFile = z.infer<typeof InputFileSchema>;

/**
 * Names the backend may ask upload slots for. `class-images` is the shared,
 * cached class-image bundle of this job's (base model, class prompt, count,
 * resolution); everything else lands under the job's own prefix.
 */
export const ArtifactNameSchema = z
  .string()
  .max(200)
  .regex(
    /^(class-images|(artifacts|samples|images|checkpoints|reports)\/[A-Za-z0-9][A-Za-z0-9._-]{0,120}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,120}){0,3})$/,
    "must be class-images or artifacts|samples|images|checkpoints|reports/<file>",
  );
export type ArtifactName = z.infer<typeof ArtifactNameSchema>;

const JobCommon = {
  job_id: z.string().min(1).max(64),
  attempt: z.number().int().min(1).max(100),
  base_model: BaseModelId,
  /** Absolute URL the backend POSTs signed events to; upload slots at `${callback_url}/uploads`. */
  callback_url: z.url(),
  /** Unix ms after which the backend should give up and report `failed`. */
  deadline: z.number().int().positive(),
};

export const TrainJobSchema = z.object({
  ...JobCommon,
  kind: z.literal("train"),
  subject: z.object({ identifier: z.string().min(1).max(64), class_noun: z.string().min(1).max(64) }),
  /** Fully resolved parameters (see `resolveTrainingParams`). */
  params: TrainingParamsSchema.required({ learning_rate: true, lora_alpha: true, resolution: true, seed: true }).extend(
    {
      instance_prompt: z.string().min(1),
      prior_preservation: TrainingParamsSchema.shape.prior_preservation.unwrap().required({ class_prompt: true }),
    },
  ),
  inputs: z.array(InputFileSchema).min(1).max(20),
  /** Cached class-image bundle, when prior preservation is on and one exists already. */
  class_images: z
    .object({ cache_key: z.string().min(1).max(200), url: z.url().optional(), sha256: Sha256Hex.optional() })
    .optional(),
  /** Checkpoint of an earlier attempt to resume from. */
  resume: z.object({ url: z.url(), sha256: Sha256Hex, step: z.number().int().nonnegative() }).optional(),
});
export type TrainJob = z.infer<typeof TrainJobSchema>;

export const GenerateJobSchema = z.object({
  ...JobCommon,
  kind: z.literal("generate"),
  /** Prompt with `{subject}` already expanded. */
  params: GenerationParamsSchema.required({ seed: true, width: true, height: true }),
  /** The trained weights to apply: a LoRA file or a full diffusers export; absent = base model only. */
  weights: z
    .object({
      format: z.enum(["diffusers-lora", "diffusers", "cog-sdxl-lora"]),
      method: z.enum(TRAINING_METHODS),
      files: z.array(InputFileSchema).min(1).max(20),
    })
    .optional(),
});
export type GenerateJob = z.infer<typeof GenerateJobSchema>;

export const JobMessageSchema = z.discriminatedUnion("kind", [TrainJobSchema, GenerateJobSchema]);
export type JobMessage = z.infer<typeof JobMessageSchema>;

export const CancelJobSchema = z.object({ job_id: z.string().min(1).max(64), attempt: z.number().int().min(1) });

/**
 * Queue dispatch: a GPU host that pulled an attempt asks to run it
 * (`POST {callback_url}/claim`) before starting; 200 = it is this host's, 409 = ack
 * the message and drop it (stale, finished or already running elsewhere).
 */
export const ClaimJobSchema = z.object({
  job_id: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
  /** Names the host in the job's log; one per process, so a restarted host is a new one. */
  host: z.string().min(1).max(200),
});
export type ClaimJob = z.infer<typeof ClaimJobSchema>;

const EventCommon = {
  job_id: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
  /** Per-attempt sequence number starting at 0; the Worker dedupes by (attempt, seq). */
  seq: z.number().int().nonnegative(),
  /** Unix ms on the backend when the event was made. */
  ts: z.number().int().nonnegative(),
};

export const JOB_PHASES = ["preparing", "training", "generating", "exporting"] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

export const ARTIFACT_FORMATS = [
  "diffusers-lora",
  "kohya-lora",
  "diffusers",
  "checkpoint",
  "image",
  "class-images",
  "report",
  /** The Replicate SDXL trainer's weights tarball (LoRA + pivotal-tuning embeddings), runnable as `replicate_weights`. */
  "cog-sdxl-lora",
] as const;

export const BackendEventSchema = z.discriminatedUnion("type", [
  z.object({ ...EventCommon, type: z.literal("started"), backend: z.string().max(100), device: z.string().max(200) }),
  z.object({
    ...EventCommon,
    type: z.literal("progress"),
    phase: z.enum(JOB_PHASES),
    step: z.number().int().nonnegative(),
    total_steps: z.number().int().nonnegative(),
    loss: z.number().optional(),
    lr: z.number().optional(),
    eta_s: z.number().nonnegative().optional(),
    message: z.string().max(500).optional(),
  }),
  z.object({
    ...EventCommon,
    type: z.literal("sample"),
    step: z.number().int().nonnegative(),
    prompt: z.string().max(1000),
    seed: z.number().int().nonnegative(),
    artifact: ArtifactNameSchema,
  }),
  z.object({
    ...EventCommon,
    type: z.literal("artifact"),
    name: ArtifactNameSchema,
    format: z.enum(ARTIFACT_FORMATS),
    sha256: Sha256Hex,
    size: z.number().int().nonnegative(),
    content_type: z.string().max(100),
    /** Format-specific facts: image width/height/seed, checkpoint step, quality metrics… */
    meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
  z.object({
    ...EventCommon,
    type: z.literal("succeeded"),
    metrics: z.record(z.string(), z.number()).optional(),
    /** Trainings on a base model with a judge: the report also uploaded as reports/quality.json, of the exported weights. */
    quality: QualityReportSchema.optional(),
    /** Trainings: which step's weights were exported, and why. */
    selected_checkpoint: SelectedCheckpointSchema.optional(),
  }),
  z.object({
    ...EventCommon,
    type: z.literal("failed"),
    /** Machine-readable reason, e.g. `input_checksum_mismatch`, `out_of_memory`, `deadline_exceeded`. */
    code: z.string().min(1).max(64),
    message: z.string().min(1).max(2000),
    /** Whether another attempt could succeed (the Worker may re-dispatch). */
    retryable: z.boolean(),
  }),
  z.object({ ...EventCommon, type: z.literal("canceled") }),
]);
export type BackendEvent = z.infer<typeof BackendEventSchema>;
export type BackendEventType = BackendEvent["type"];

export const UploadSlotRequestSchema = z.object({
  job_id: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
  name: ArtifactNameSchema,
  content_type: z.string().min(1).max(100),
  size: z.number().int().nonnegative().optional(),
});
export type UploadSlotRequest = z.infer<typeof UploadSlotRequestSchema>;

export const UploadSlotSchema = z.object({
  url: z.url(),
  method: z.literal("PUT"),
  /** Headers the PUT must carry for the signature to hold (e.g. content-type). */
  headers: z.record(z.string(), z.string()),
  expires_at: z.number().int().positive(),
});
export type UploadSlot = z.infer<typeof UploadSlotSchema>;
