/**
 * Training and generation parameters: the part of the public API that travels
 * unchanged to the GPU backend. Every field is optional in requests; `resolve*`
 * fills the defaults (the DreamBooth paper's and diffusers' example scripts'),
 * so the backend always receives a complete, explicit parameter set and a job's
 * record shows exactly what it ran with.
 */
import { z } from "zod";
import { withoutDefaults } from "./without-defaults.js";
import { CHECKPOINT_SELECTIONS } from "./checkpoint-selection.js";

export const TRAINING_METHODS = ["lora", "full"] as const;
export const SCHEDULERS = ["ddpm", "ddim", "euler", "dpmpp_2m"] as const;
export const LR_SCHEDULES = ["constant", "cosine"] as const;

/** Learning rates from the paper (full fine-tune of SD) and the diffusers LoRA script. */
export const DEFAULT_LEARNING_RATE = { full: 5e-6, lora: 1e-4 } as const;

const multipleOf8 = (min: number, max: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(max)
    .refine((value) => value % 8 === 0, { message: "must be a multiple of 8" });

export const PriorPreservationSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** λ in the paper: weight of the class-prior term of the loss. */
    weight: z.number().min(0).max(10).default(1),
    num_class_images: z.number().int().min(1).max(1000).default(200),
    /** Defaults to "a photo of {class_noun}". */
    class_prompt: z.string().min(1).max(300).optional(),
    /** Denoising steps per class image (the frozen base model renders them before training). */
    class_image_steps: z.number().int().min(1).max(150).default(25),
  })
  .strict();

export const TrainingParamsSchema = z
  .object({
    steps: z.number().int().min(1).max(10_000).default(1000),
    method: z.enum(TRAINING_METHODS).default("lora"),
    /** Defaults per method and base model: the base model's own (tiny-emoji's are calibrated by its benchmark), else DEFAULT_LEARNING_RATE. */
    learning_rate: z.number().positive().max(1e-2).optional(),
    lr_schedule: z.enum(LR_SCHEDULES).default("constant"),
    lr_warmup_steps: z.number().int().min(0).max(10_000).default(0),
    lora_rank: z.number().int().min(1).max(128).default(4),
    /** Defaults to lora_rank (scale 1). */
    lora_alpha: z.number().positive().max(1024).optional(),
    prior_preservation: PriorPreservationSchema.default(() => PriorPreservationSchema.parse({})),
    train_text_encoder: z.boolean().default(false),
    /** Training resolution in pixels; defaults to the base model's native size. */
    resolution: multipleOf8(32, 1024).optional(),
    batch_size: z.number().int().min(1).max(8).default(1),
    max_grad_norm: z.number().positive().max(100).default(1),
    weight_decay: z.number().min(0).max(1).default(1e-2),
    /** Offset noise strength (0 = off). */
    offset_noise: z.number().min(0).max(1).default(0),
    /** Min-SNR-γ loss weighting (absent = off; 5 is the paper's recommendation). */
    snr_gamma: z.number().positive().max(100).optional(),
    center_crop: z.boolean().default(true),
    random_flip: z.boolean().default(false),
    instance_prompt: z.string().min(1).max(300).optional(),
    seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    checkpoint_every: z.number().int().min(1).max(10_000).default(250),
    validation_prompts: z.array(z.string().min(1).max(300)).max(4).default([]),
    validation_every: z.number().int().min(1).max(10_000).default(250),
    /** Denoising steps per validation sample. */
    validation_steps: z.number().int().min(1).max(150).default(25),
    /**
     * Which weights to export: the last step, or the best-scoring checkpoint (see
     * checkpoint-selection.ts). "best" costs one quality evaluation per checkpoint, only on base
     * models with a judge; elsewhere, or with no checkpoint before the last step, it is "last".
     */
    checkpoint_selection: z.enum(CHECKPOINT_SELECTIONS).default("best"),
    /**
     * Recompute each UNet block's activations in the backward pass instead of keeping them: the same
     * result in far less GPU memory, for about one more forward pass per step (see docs/gpu.md).
     */
    gradient_checkpointing: z.boolean().default(false),
    /** Score attention for at most this many queries at once (absent = all): the same result, bounded attention memory. */
    attention_chunk: z.number().int().min(16).max(16_384).optional(),
  })
  .strict();

export type TrainingParamsInput = z.input<typeof TrainingParamsSchema>;
export type TrainingParams = z.output<typeof TrainingParamsSchema>;

/** Parameters with every default filled in, as the backend receives them. */
export type ResolvedTrainingParams = Omit<TrainingParams, "learning_rate" | "lora_alpha" | "resolution" | "seed"> & {
  learning_rate: number;
  lora_alpha: number;
  resolution: number;
  seed: number;
  instance_prompt: string;
  prior_preservation: TrainingParams["prior_preservation"] & { class_prompt: string };
};

export interface SubjectNames {
  identifier: string;
  class_noun: string;
}

export function defaultInstancePrompt(subject: SubjectNames): string {
  return `a photo of ${subject.identifier} ${subject.class_noun}`;
}

export function defaultClassPrompt(subject: SubjectNames): string {
  return `a photo of ${subject.class_noun}`;
}

/** What resolving a training's parameters needs of its base model: its native resolution, and its own learning rates where the paper's do not suit it. */
export interface BaseModelDefaults {
  resolution: number;
  learning_rate?: Readonly<Record<TrainingParams["method"], number>>;
}

export function resolveTrainingParams(
  params: TrainingParams,
  subject: SubjectNames,
  baseModel: BaseModelDefaults,
  seed: number,
): ResolvedTrainingParams {
  return {
    ...params,
    learning_rate: params.learning_rate ?? baseModel.learning_rate?.[params.method] ?? DEFAULT_LEARNING_RATE[params.method],
    lora_alpha: params.lora_alpha ?? params.lora_rank,
    resolution: params.resolution ?? baseModel.resolution,
    seed: params.seed ?? seed,
    // `{subject}` is expanded here, as in generation prompts, so the backend gets the text it renders.
    instance_prompt: params.instance_prompt ? expandSubjectPlaceholder(params.instance_prompt, subject) : defaultInstancePrompt(subject),
    validation_prompts: params.validation_prompts.map((prompt) => expandSubjectPlaceholder(prompt, subject)),
    prior_preservation: {
      ...params.prior_preservation,
      class_prompt: params.prior_preservation.class_prompt ?? defaultClassPrompt(subject),
    },
  };
}

export const GenerationParamsSchema = z
  .object({
    prompt: z.string().min(1).max(1000),
    negative_prompt: z.string().max(1000).optional(),
    num_images: z.number().int().min(1).max(8).default(1),
    steps: z.number().int().min(1).max(150).default(30),
    guidance_scale: z.number().min(0).max(30).default(7.5),
    scheduler: z.enum(SCHEDULERS).default("dpmpp_2m"),
    seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    width: multipleOf8(32, 1024).optional(),
    height: multipleOf8(32, 1024).optional(),
    /** Strength of the trained LoRA at inference (ignored for full fine-tunes). */
    lora_scale: z.number().min(0).max(2).default(1),
  })
  .strict();

export type GenerationParamsInput = z.input<typeof GenerationParamsSchema>;
export type GenerationParams = z.output<typeof GenerationParamsSchema>;

/** The `{subject}` placeholder in prompts expands to "identifier class_noun". */
export function expandSubjectPlaceholder(prompt: string, subject: SubjectNames): string {
  return prompt.replaceAll("{subject}", `${subject.identifier} ${subject.class_noun}`);
}

/** `TrainingParamsSchema` as a request carries it: validated, with no defaults filled in (see `withoutDefaults`). */
export const TrainingParamsRequestSchema = withoutDefaults(TrainingParamsSchema);
