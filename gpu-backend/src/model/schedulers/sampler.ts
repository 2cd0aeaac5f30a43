/**
 * What the pipeline's denoising loop needs from any scheduler: the timesteps to feed the UNet, the
 * scale of the initial noise, the input scaling some samplers apply, and one update from the model's
 * prediction at step i to the sample at step i+1. Steps are addressed by index, so fractional or
 * repeated timesteps never need a lookup. Samplers that keep history (DPM-Solver) own those tensors
 * and free them after the last step or on `dispose()`.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Random } from "../../tensor/random.js";

export interface Sampler {
  /** UNet timesteps, in the order they are visited (highest noise first). */
  readonly timesteps: number[];
  /** Standard deviation of the initial latents: they are N(0, 1) · initNoiseSigma. */
  readonly initNoiseSigma: number;
  /** The UNet's input at step i (identity except for σ-parametrised samplers such as Euler). */
  scaleModelInput(sample: tf.Tensor4D, stepIndex: number): tf.Tensor4D;
  /** The sample after step i, from the model output at step i. `random` feeds stochastic samplers. */
  step(modelOutput: tf.Tensor4D, stepIndex: number, sample: tf.Tensor4D, random: Random): tf.Tensor4D;
  /** Frees any tensors the sampler still holds. */
  dispose(): void;
}

/** x̂₀ and ε̂ from a model output, for ε- or v-prediction at ᾱₜ. */
export function predictedOriginalAndNoise(
  predictionType: "epsilon" | "v_prediction",
  modelOutput: tf.Tensor4D,
  sample: tf.Tensor4D,
  alphaBar: number,
): { original: tf.Tensor4D; noise: tf.Tensor4D } {
  const signal = Math.sqrt(alphaBar);
  const noiseScale = Math.sqrt(1 - alphaBar);
  if (predictionType === "epsilon") {
    return { original: tf.div(tf.sub(sample, tf.mul(modelOutput, noiseScale)), signal), noise: modelOutput };
  }
  return {
    original: tf.sub(tf.mul(sample, signal), tf.mul(modelOutput, noiseScale)),
    noise: tf.add(tf.mul(modelOutput, signal), tf.mul(sample, noiseScale)),
  };
}
