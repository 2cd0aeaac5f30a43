/**
 * What a job's Durable Object remembers about one training or generation: the
 * request it was created from (with R2 keys, never URLs, because URLs are minted
 * fresh at each dispatch), where the state machine stands, the latest progress and
 * the artifacts reported so far. One zod schema is both the stored shape and the type.
 */
import { z } from "zod";
import {
  ARTIFACT_FORMATS,
  ArtifactNameSchema,
  GenerateJobSchema,
  JOB_PHASES,
  JOB_STATUSES,
  QualityReportSchema,
  SelectedCheckpointSchema,
  TRAINING_METHODS,
  TrainJobSchema,
} from "../../shared/index.js";
import { KEY_MODES } from "../accounts/api-keys.js";
import { ChatTargetSchema } from "./chat-target.js";
import { WebhookDeliverySchema } from "./webhook-delivery.js";

/** An R2 object the backend will read, referenced by key until a dispatch signs it. */
export const StoredInputSchema = z.object({
  name: z.string(),
  key: z.string(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  content_type: z.string().optional(),
});
export type StoredInput = z.infer<typeof StoredInputSchema>;

export const ArtifactRecordSchema = z.object({
  name: ArtifactNameSchema,
  format: z.enum(ARTIFACT_FORMATS),
  key: z.string(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  content_type: z.string(),
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  attempt: z.number().int().min(1),
});
export type ArtifactRecord = z.infer<typeof ArtifactRecordSchema>;

export const ProgressSchema = z.object({
  phase: z.enum(JOB_PHASES).nullable(),
  step: z.number().int().nonnegative(),
  total_steps: z.number().int().nonnegative(),
  loss: z.number().nullable(),
  eta_s: z.number().nullable(),
});
export type Progress = z.infer<typeof ProgressSchema>;

/** Why a job failed; `retryable`: whether the same request sent again could succeed (an outage, not bad input). */
export const JobErrorSchema = z.object({ code: z.string(), message: z.string(), retryable: z.boolean() });
export type JobError = z.infer<typeof JobErrorSchema>;

export const DispatchWaitSchema = z.object({
  reason: z.enum(["busy", "unreachable"]),
  since: z.number(),
  retries: z.number().int().min(1),
});
export type DispatchWait = z.infer<typeof DispatchWaitSchema>;

const RecordCommon = {
  id: z.string(),
  account_id: z.string(),
  /** The mode of the key that started it; only keys of that mode see it. Absent on jobs made before modes were recorded: live. */
  mode: z.enum(KEY_MODES).optional(),
  backend: z.string(),
  base_model: z.string(),
  /** Current attempt, starting at 1; only events of this attempt are applied. */
  attempt: z.number().int().min(1),
  status: z.enum(JOB_STATUSES),
  progress: ProgressSchema,
  error: JobErrorSchema.nullable(),
  artifacts: z.array(ArtifactRecordSchema),
  webhook_url: z.string().optional(),
  /** A chat bot's channel to tell when the job ends (the job was started from Discord or Slack). */
  notify: ChatTargetSchema.optional(),
  /** The backend's own id for the current attempt (e.g. a Replicate prediction id). */
  backend_ref: z.string().optional(),
  /** Attempts that counted against MAX_ATTEMPTS: a crash or silence counts, a graceful shutdown with a new checkpoint does not. */
  attempts_used: z.number().int().min(1),
  /** Why the current attempt is not handed over yet (busy or unreachable backend), since when, and how many tries. */
  dispatch_wait: DispatchWaitSchema.nullable(),
  /** Queue dispatch: the attempt sits in the queue until a GPU host claims it (`claimed_by`). */
  awaiting_claim: z.boolean(),
  claimed_by: z.string().optional(),
  created_at: z.number(),
  updated_at: z.number(),
  /** Not stored in the record: the job's object attaches its delivery log when it is read. */
  webhook_deliveries: z.array(WebhookDeliverySchema).optional(),
};

export const TrainingRecordSchema = z.object({
  ...RecordCommon,
  kind: z.literal("train"),
  subject: z.object({ id: z.string(), identifier: z.string(), class_noun: z.string() }),
  params: TrainJobSchema.shape.params,
  inputs: z.array(StoredInputSchema).min(1),
  /** Cache key of the class-image bundle this training needs (prior preservation on). */
  class_images_cache_key: z.string().optional(),
  /** From the `succeeded` event: the quality report of the exported weights (base models with a judge). */
  quality: QualityReportSchema.optional(),
  /** From the `succeeded` event: which step was exported, and why. */
  selected_checkpoint: SelectedCheckpointSchema.optional(),
});
export type TrainingRecord = z.infer<typeof TrainingRecordSchema>;

export const GenerationRecordSchema = z.object({
  ...RecordCommon,
  kind: z.literal("generate"),
  training_id: z.string().optional(),
  params: GenerateJobSchema.shape.params,
  weights: z
    .object({
      format: GenerateJobSchema.shape.weights.unwrap().shape.format,
      method: z.enum(TRAINING_METHODS),
      files: z.array(StoredInputSchema).min(1),
    })
    .optional(),
});
export type GenerationRecord = z.infer<typeof GenerationRecordSchema>;

export const JobRecordSchema = z.discriminatedUnion("kind", [TrainingRecordSchema, GenerationRecordSchema]);
export type JobRecord = z.infer<typeof JobRecordSchema>;

/** The fields the state machine owns; a caller creating a job supplies everything else. */
type StateFields = "webhook_deliveries" | "status" | "attempt" | "progress" | "error" | "artifacts" | "attempts_used" | "dispatch_wait" | "awaiting_claim" | "claimed_by" | "created_at" | "updated_at" | "backend_ref";
export type NewTrainingRecord = Omit<TrainingRecord, StateFields>;
export type NewGenerationRecord = Omit<GenerationRecord, StateFields>;
export type NewJobRecord = NewTrainingRecord | NewGenerationRecord;

export const EMPTY_PROGRESS: Progress = { phase: null, step: 0, total_steps: 0, loss: null, eta_s: null };

export function newJobRecord(init: NewJobRecord, now: number): JobRecord {
  return {
    ...init,
    status: "queued",
    attempt: 1,
    progress: EMPTY_PROGRESS,
    error: null,
    artifacts: [],
    attempts_used: 1,
    dispatch_wait: null,
    awaiting_claim: false,
    created_at: now,
    updated_at: now,
  } as JobRecord;
}
