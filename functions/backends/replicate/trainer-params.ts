/**
 * Our training and generation parameters, translated into the inputs of the
 * Replicate trainer we default to: `stability-ai/sdxl` (replicate/cog-sdxl), a
 * DreamBooth-style LoRA / full fine-tune with pivotal tuning whose weights bundle
 * the same model version also runs (`replicate_weights`).
 *
 * The trainer cannot do everything our own backend does (no prior-preservation
 * loss, no cosine schedule, its own cropping). A parameter a client set that the
 * trainer cannot honour is an error naming the field — never silently dropped —
 * while defaults it cannot honour give way to what the trainer does, and the
 * returned `params` say so, so the job record shows what actually ran.
 * Pure functions: tested without a runtime, shared by request validation and dispatch.
 */
import {
  defaultClassPrompt,
  type GenerationParams,
  type ResolvedTrainingParams,
  type SubjectNames,
  type TrainingParamsInput,
} from "../../../shared/index.js";

export interface ParamIssue {
  path: string;
  message: string;
}

/** The cog-sdxl training inputs we set; `input_images` is added at dispatch. */
export interface SdxlTrainingInput {
  max_train_steps: number;
  is_lora: boolean;
  unet_learning_rate?: number;
  lora_lr?: number;
  lora_rank: number;
  lr_scheduler: "constant";
  lr_warmup_steps: number;
  resolution: number;
  train_batch_size: number;
  seed: number;
  token_string: string;
  caption_prefix: string;
  mask_target_prompts: string;
  checkpointing_steps: number;
}

export type TrainingMapping =
  | { ok: true; input: SdxlTrainingInput; params: ResolvedTrainingParams }
  | { ok: false; issues: ParamIssue[] };

const TRAINER = "the Replicate trainer (stability-ai/sdxl)";

/**
 * `requested` is what the client sent (to tell explicit choices from defaults);
 * `resolved` the same with every default filled in.
 */
export function mapTrainingParams(
  requested: TrainingParamsInput,
  resolved: ResolvedTrainingParams,
  subject: SubjectNames,
): TrainingMapping {
  const issues: ParamIssue[] = [];
  const reject = (path: string, message: string) => issues.push({ path, message: `${TRAINER} ${message}` });

  if (resolved.lr_schedule !== "constant") reject("lr_schedule", "supports only the constant schedule");
  if (requested.lora_alpha !== undefined && requested.lora_alpha !== resolved.lora_rank)
    reject("lora_alpha", "scales LoRA by 1 (alpha = rank); leave lora_alpha unset or equal to lora_rank");
  const prior = requested.prior_preservation;
  if (prior !== undefined && prior.enabled !== false)
    reject("prior_preservation", "has no prior-preservation loss; send prior_preservation: {enabled: false}");
  if (requested.train_text_encoder === true)
    reject("train_text_encoder", "trains new token embeddings (pivotal tuning), not the text encoder");
  if (requested.max_grad_norm !== undefined && requested.max_grad_norm !== 1) reject("max_grad_norm", "clips gradients at 1.0");
  if (requested.weight_decay !== undefined) reject("weight_decay", "uses its own optimizer settings");
  if (requested.offset_noise !== undefined && requested.offset_noise !== 0) reject("offset_noise", "has no offset noise");
  if (requested.snr_gamma !== undefined) reject("snr_gamma", "has no min-SNR loss weighting");
  if (requested.center_crop !== undefined) reject("center_crop", "crops around the salient region itself");
  if (requested.random_flip === true) reject("random_flip", "does not flip images");
  if (resolved.validation_prompts.length > 0) reject("validation_prompts", "renders no validation samples");
  if (requested.checkpoint_selection === "best") reject("checkpoint_selection", 'exports its last step only; send checkpoint_selection: "last"');
  if (!resolved.instance_prompt.split(/\s+/).includes(subject.identifier))
    reject("instance_prompt", `needs the identifier "${subject.identifier}" in the instance prompt`);
  if (issues.length > 0) return { ok: false, issues };

  const params: ResolvedTrainingParams = {
    ...resolved,
    prior_preservation: { ...resolved.prior_preservation, enabled: false },
    checkpoint_selection: "last",
  };
  const lora = params.method === "lora";
  return {
    ok: true,
    params,
    input: {
      max_train_steps: params.steps,
      is_lora: lora,
      ...(lora ? { lora_lr: params.learning_rate } : { unet_learning_rate: params.learning_rate }),
      lora_rank: params.lora_rank,
      lr_scheduler: "constant",
      lr_warmup_steps: params.lr_warmup_steps,
      resolution: params.resolution,
      train_batch_size: params.batch_size,
      seed: params.seed,
      token_string: subject.identifier,
      caption_prefix: params.instance_prompt,
      // The trainer masks its loss to what this prompt finds in each photo: the subject.
      mask_target_prompts: defaultClassPrompt(subject),
      checkpointing_steps: params.checkpoint_every,
    },
  };
}

/** cog-sdxl's scheduler names for ours; DDPM ancestral sampling has no counterpart there. */
const SDXL_SCHEDULERS: Partial<Record<GenerationParams["scheduler"], string>> = {
  ddim: "DDIM",
  euler: "K_EULER",
  dpmpp_2m: "DPMSolverMultistep",
};

export interface SdxlPredictionInput {
  prompt: string;
  negative_prompt?: string;
  num_outputs: number;
  num_inference_steps: number;
  guidance_scale: number;
  scheduler: string;
  seed: number;
  width: number;
  height: number;
  lora_scale: number;
}

export type GenerationMapping = { ok: true; input: SdxlPredictionInput } | { ok: false; issues: ParamIssue[] };

export function mapGenerationParams(
  params: GenerationParams & { seed: number; width: number; height: number },
): GenerationMapping {
  const issues: ParamIssue[] = [];
  const reject = (path: string, message: string) => issues.push({ path, message: `${TRAINER} ${message}` });
  const scheduler = SDXL_SCHEDULERS[params.scheduler];
  if (!scheduler) reject("scheduler", `has no ${params.scheduler} scheduler; use ddim, euler or dpmpp_2m`);
  if (params.num_images > 4) reject("num_images", "renders at most 4 images per request");
  if (params.guidance_scale < 1) reject("guidance_scale", "needs guidance_scale of at least 1");
  if (params.lora_scale > 1) reject("lora_scale", "caps lora_scale at 1");
  if (issues.length > 0 || !scheduler) return { ok: false, issues };
  return {
    ok: true,
    input: {
      prompt: params.prompt,
      ...(params.negative_prompt ? { negative_prompt: params.negative_prompt } : {}),
      num_outputs: params.num_images,
      num_inference_steps: params.steps,
      guidance_scale: params.guidance_scale,
      scheduler,
      seed: params.seed,
      width: params.width,
      height: params.height,
      lora_scale: params.lora_scale,
    },
  };
}
