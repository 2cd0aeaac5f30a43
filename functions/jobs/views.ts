/**
 * What clients see of a job: the public JSON of `GET /v1/trainings/:id` and
 * `GET /v1/generations/:id`, derived from the record by pure functions. The zod
 * schemas are the OpenAPI description of those responses as well as their types.
 */
import { z } from "@hono/zod-openapi";
import { ARTIFACT_FORMATS, JOB_STATUSES, QualityReportSchema, SelectedCheckpointSchema, type QualityReport } from "../../shared/index.js";
import type { GenerationRecord, JobRecord, TrainingRecord } from "./record.js";

export const ProgressViewSchema = z
  .object({
    phase: z.string().nullable(),
    step: z.number().int(),
    total_steps: z.number().int(),
    loss: z.number().nullable(),
    eta_s: z.number().nullable(),
  })
  .openapi("Progress");

export const WebhookDeliveryViewSchema = z
  .object({
    id: z.string().openapi({ description: "The webhook-id header; the same on every retry" }),
    type: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    last_outcome: z.string().nullable(),
    next_attempt_at: z.number().nullable().openapi({ description: "Unix ms of the next retry" }),
    created_at: z.number().int(),
    updated_at: z.number().int(),
  })
  .openapi("WebhookDelivery");

const ErrorViewSchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().openapi({ description: "Whether sending the same request again could succeed (an outage, not bad input)" }),
});

export const ArtifactViewSchema = z
  .object({
    name: z.string(),
    format: z.enum(ARTIFACT_FORMATS),
    size: z.number().int(),
    sha256: z.string(),
    content_type: z.string(),
    meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** Download path (needs the API key) for weight formats served by /v1/models. */
    download_url: z.string().optional(),
  })
  .openapi("Artifact");

const JobViewCommon = {
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  backend: z.string(),
  base_model: z.string(),
  attempt: z.number().int().openapi({ description: "The current attempt's number (each dispatch of the job is one)" }),
  attempts_used: z.number().int().openapi({ description: "Attempts counted against the limit: a crash counts, a graceful restart from a new checkpoint does not" }),
  progress: ProgressViewSchema,
  error: ErrorViewSchema.optional(),
  created_at: z.number().int().openapi({ description: "Unix ms" }),
  updated_at: z.number().int().openapi({ description: "Unix ms" }),
  /** Present when the job has a webhook_url: every state change sent there and how it went. */
  webhook_deliveries: z.array(WebhookDeliveryViewSchema).optional(),
};

export const TrainingViewSchema = z
  .object({
    ...JobViewCommon,
    subject_id: z.string(),
    params: z.record(z.string(), z.unknown()),
    artifacts: z.array(ArtifactViewSchema),
    /** DreamBench-style measures of the exported weights on the training's own subject (`reports/quality.json`); null when none. */
    quality: QualityReportSchema.nullable(),
    /** Which training step's weights were exported and why (`params.checkpoint_selection`); null until the backend says. */
    selected_checkpoint: SelectedCheckpointSchema.nullable(),
  })
  .openapi("Training");
export type TrainingView = z.infer<typeof TrainingViewSchema>;

export const ImageViewSchema = z
  .object({ url: z.string(), width: z.number().int(), height: z.number().int(), seed: z.number().int() })
  .openapi("Image");

export const GenerationViewSchema = z
  .object({
    ...JobViewCommon,
    training_id: z.string().nullable(),
    params: z.record(z.string(), z.unknown()),
    images: z.array(ImageViewSchema),
  })
  .openapi("Generation");
export type GenerationView = z.infer<typeof GenerationViewSchema>;

export const WEIGHT_FORMATS = ["diffusers-lora", "kohya-lora", "diffusers"] as const;

function common(record: JobRecord) {
  return {
    id: record.id,
    status: record.status,
    backend: record.backend,
    base_model: record.base_model,
    attempt: record.attempt,
    attempts_used: record.attempts_used ?? record.attempt,
    progress: {
      phase: record.progress.phase,
      step: record.progress.step,
      total_steps: record.progress.total_steps,
      loss: record.progress.loss,
      eta_s: record.progress.eta_s,
    },
    ...(record.status === "failed" && record.error ? { error: record.error } : {}),
    created_at: record.created_at,
    updated_at: record.updated_at,
    ...(record.webhook_url && record.webhook_deliveries ? { webhook_deliveries: record.webhook_deliveries } : {}),
  };
}

/** `quality` defaults to the report the succeeded event carried; routes pass the stored file's for records without one. */
export function trainingView(record: TrainingRecord, origin: string, quality: QualityReport | null = record.quality ?? null): TrainingView {
  return {
    ...common(record),
    subject_id: record.subject.id,
    params: record.params,
    artifacts: record.artifacts.map((artifact) => ({
      name: artifact.name,
      format: artifact.format,
      size: artifact.size,
      sha256: artifact.sha256,
      content_type: artifact.content_type,
      ...(artifact.meta ? { meta: artifact.meta } : {}),
      // Only a succeeded training serves weights; a failed or canceled one answers 410 (routes/models.ts).
      ...(record.status === "succeeded" && (WEIGHT_FORMATS as readonly string[]).includes(artifact.format)
        ? { download_url: `${origin}/v1/models/${record.id}/files/${artifact.format}` }
        : {}),
    })),
    quality,
    selected_checkpoint: record.selected_checkpoint ?? null,
  };
}

/** The generated images in index order; each URL is served to the same API key. */
export function generatedImages(record: GenerationRecord): GenerationRecord["artifacts"] {
  const index = (name: string) => Number(/^images\/(\d+)\./.exec(name)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return record.artifacts.filter((artifact) => artifact.format === "image").sort((a, b) => index(a.name) - index(b.name));
}

export function generationView(record: GenerationRecord, origin: string): GenerationView {
  return {
    ...common(record),
    training_id: record.training_id ?? null,
    params: record.params,
    images: generatedImages(record).map((artifact, index) => ({
      url: `${origin}/v1/generations/${record.id}/images/${index}`,
      width: Number(artifact.meta?.width ?? record.params.width),
      height: Number(artifact.meta?.height ?? record.params.height),
      seed: Number(artifact.meta?.seed ?? record.params.seed + index),
    })),
  };
}

export function jobView(record: JobRecord, origin: string): TrainingView | GenerationView {
  return record.kind === "train" ? trainingView(record, origin) : generationView(record, origin);
}
