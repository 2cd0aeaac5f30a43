/**
 * The memory and arithmetic of one DreamBooth training step on our tfjs networks, from their shapes:
 * weights, gradients, optimizer state and activations in float32 (tfjs trains in float32 on every
 * backend), and the FLOPs. docs/gpu.md is this, printed by `npm run plan:gpu` for SD1.5.
 *
 * Activations follow how tfjs differentiates: `tf.variableGrads` keeps every buffer the forward pass
 * made until the step ends, and the backward walk keeps every gradient it makes as well (tape.ts frees
 * neither until the end), so the plain path holds the forward's buffers plus about as much again in
 * gradients — GRADIENT_SHARE of them, measured (memory-plan.test.ts). A checkpointed block leaves only its
 * output for the backward pass and is recomputed, one block at a time, with its own gradients.
 */
import type { UNetConfig } from "./config.js";
import { unetForwardCosts, type StepShape } from "./unet-costs.js";

/**
 * Gradient bytes per forward byte in a tfjs backward pass: 2, fitted to LoRA steps of the tiny UNet at
 * 16×16 and 32×32 latents (measured 1.9–2.1); the small UNet at 32×32 then comes out within 5 %.
 * memory-plan.test.ts and `npm run bench:memory` hold the plan to measured peaks.
 */
export const GRADIENT_SHARE = 2;

/** Score-sized buffers alive at once in chunked attention's backward (P, dP, dP⊙P, dS and a product). */
const SLICE_BUFFERS_BACKWARD = 5;

const BYTES = 4;

export interface TrainingChoice {
  method: "lora" | "full";
  loraRank: number;
  gradientCheckpointing: boolean;
  attentionChunk?: number;
}

export interface NetworkSizes {
  unet: UNetConfig;
  unetParameters: number;
  /** Trainable adapter parameters of a LoRA run at `loraRank` (attention projections). */
  loraParameters: number;
  /** Frozen networks the service keeps loaded beside the UNet (text encoder, VAE). */
  otherParameters: number;
}

export interface StepPlan {
  weightBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  activationBytes: number;
  totalBytes: number;
  /** FLOPs of one training step (forward, backward, and the recomputation with checkpointing). */
  stepFlops: number;
  forwardFlops: number;
}

/** Activation bytes of one training step's UNet pass (forward buffers plus backward gradients). */
export function activationBytes(config: UNetConfig, shape: StepShape, choice: TrainingChoice): number {
  const costs = unetForwardCosts(config, shape, { attentionChunk: choice.attentionChunk, loraRank: choice.method === "lora" ? choice.loraRank : 0 });
  const held = 1 + GRADIENT_SHARE;
  const transient = SLICE_BUFFERS_BACKWARD * Math.max(0, ...costs.map((cost) => cost.sliceScores));
  if (!choice.gradientCheckpointing) return BYTES * (held * costs.reduce((sum, cost) => sum + cost.created, 0) + transient);
  const kept = costs.reduce((sum, cost) => sum + (cost.checkpointed ? cost.output : cost.created), 0);
  const recompute = Math.max(...costs.filter((cost) => cost.checkpointed).map((cost) => held * cost.created + SLICE_BUFFERS_BACKWARD * cost.sliceScores));
  return BYTES * (held * kept + recompute);
}

export function stepPlan(networks: NetworkSizes, shape: StepShape, choice: TrainingChoice): StepPlan {
  const trainable = choice.method === "lora" ? networks.loraParameters : networks.unetParameters;
  const weightBytes = BYTES * (networks.unetParameters + networks.otherParameters + (choice.method === "lora" ? networks.loraParameters : 0));
  // The gradients, and their clipped copy when the norm exceeds max_grad_norm (optimizer.ts).
  const gradientBytes = 2 * BYTES * trainable;
  const optimizerBytes = 2 * BYTES * trainable;
  const activation = activationBytes(networks.unet, shape, choice);
  const forwardFlops = unetForwardCosts(networks.unet, shape, { attentionChunk: choice.attentionChunk, loraRank: choice.method === "lora" ? choice.loraRank : 0 }).reduce(
    (sum, cost) => sum + cost.flops,
    0,
  );
  // Backward: input gradients everywhere (≈ one forward), weight gradients for full fine-tunes (≈ one more).
  const passes = 1 + 1 + (choice.method === "full" ? 1 : 0) + (choice.gradientCheckpointing ? 1 : 0);
  return {
    weightBytes,
    gradientBytes,
    optimizerBytes,
    activationBytes: activation,
    totalBytes: weightBytes + gradientBytes + optimizerBytes + activation,
    stepFlops: passes * forwardFlops,
    forwardFlops,
  };
}
