/**
 * What a client should know about a base model before it spends credits on it:
 * what the model can draw (its whole vocabulary, when it was pretrained on a
 * small one), a prompt it renders well, a quick training that still shows every
 * stage, how long a training takes on the device the deployment's GPU backend
 * runs on, and the base model's own quality scores to compare a training's with.
 * The reference app reads these from `GET /v1/models` so that it does not promise
 * a 32-pixel emoji model an astronaut helmet.
 */
import { TINY_EMOJI_BASE_QUALITY, TINY_EMOJI_VOCABULARY } from "./tiny-emoji-vocabulary.js";
import type { BaseModelName } from "./base-models.js";

/** Where the deployment's GPU backend runs (`GPU_BACKEND_DEVICE`): `npm start` runs it on this machine's CPU. */
export type BackendDevice = "gpu" | "cpu";

/** Seconds a training takes: fixed costs (model load, export, quality report) plus per step and per class image. */
export interface TrainingTiming {
  fixed_s: number;
  per_step_s: number;
  per_class_image_s: number;
}

export interface BaseModelFacts {
  description: string;
  /** Words the model was pretrained on; null for open-vocabulary models such as SD 1.5. */
  vocabulary: typeof TINY_EMOJI_VOCABULARY | null;
  /** A prompt the model draws well; `{subject}` becomes the subject's identifier and class noun. */
  suggested_prompt: string;
  /** Training parameters of a short run that still shows class images, training, a sample and export. */
  quick_training: { steps: number; num_class_images: number };
  /** Measured training time per device; a device without measurements gets no estimate. */
  timing: Partial<Record<BackendDevice, TrainingTiming>>;
  /** The untrained model's scores on the benchmark subjects (same measures as a training's `quality`). */
  base_quality: typeof TINY_EMOJI_BASE_QUALITY | null;
}

/**
 * Timing of the tiny models on two CPU cores (tfjs wasm), measured on tiny-emoji v2: the 300-step quick run
 * (LoRA with 4 class images, two validation checkpoints scored) took about 45 s on an idle machine; a LoRA step
 * with prior preservation is ~0.1 s, a full fine-tuning one ~0.2–0.35 s. The per-step figure sits between them,
 * so the estimate errs long for LoRA and for tiny-random.
 */
const TINY_CPU_TIMING: TrainingTiming = { fixed_s: 12, per_step_s: 0.15, per_class_image_s: 2 };

export const BASE_MODEL_FACTS: Record<BaseModelName, BaseModelFacts> = {
  sd15: {
    description: "Stable Diffusion 1.5 at 512×512: open vocabulary, photographs and styles.",
    vocabulary: null,
    suggested_prompt: "a photo of {subject} on a beach",
    quick_training: { steps: 400, num_class_images: 50 },
    timing: {},
    base_quality: null,
  },
  "tiny-emoji": {
    description:
      "The embedded CPU model: 32×32 emoji of 32 classes on 8 flat background colours, pretrained in this repository. " +
      "It draws what its captions taught it and nothing else.",
    vocabulary: TINY_EMOJI_VOCABULARY,
    suggested_prompt: "a {subject} on a blue background",
    // Long enough to see the subject: LoRA at the model's default rate moved the benchmark dog from −2.36 to 0.14
    // normalised fidelity in 300 steps (−0.05 in 150); 20 steps showed every stage and a blob.
    quick_training: { steps: 300, num_class_images: 4 },
    timing: { cpu: TINY_CPU_TIMING },
    base_quality: TINY_EMOJI_BASE_QUALITY,
  },
  "tiny-random": {
    description: "Random weights at tiny size, for plumbing runs: every stage runs, the images are noise.",
    vocabulary: null,
    suggested_prompt: "a {subject}",
    quick_training: { steps: 4, num_class_images: 2 },
    timing: { cpu: TINY_CPU_TIMING },
    base_quality: null,
  },
};
