/**
 * What the pipeline's denoising loop needs from any scheduler: the timesteps to feed the UNet, the
 * scale of the initial noise, the input scaling some samplers apply, and one update from the model's
 * prediction at step i to the sample at step i+1. Steps are addressed by index, so fractional or
 * repeated timesteps never need a lookup. Samplers that keep history (DPM-Solver) own those tensors
 * and free them after the last step or on `dispose()`.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Random } from "../../tensor/random.js";
import type { SchedulerConfig } from "./config.js";
import { alphasCumprod, inferenceTimesteps } from "./noise-schedule.js";

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

/**
 * The common ground of the samplers that walk SD's discrete ᾱ schedule with "leading" spacing
 * (DDIM, DDPM): the visited timesteps, ᾱ per training timestep, and the timestep each step moves to.
 */
export abstract class DiscreteScheduleSampler implements Sampler {
  readonly timesteps: number[];
  readonly initNoiseSigma = 1;
  protected readonly alphaBars: Float64Array;
  private readonly stride: number;

  constructor(
    protected readonly config: SchedulerConfig,
    steps: number,
  ) {
    this.alphaBars = alphasCumprod(config);
    this.timesteps = inferenceTimesteps(config, steps);
    this.stride = Math.floor(config.num_train_timesteps / steps);
  }

  scaleModelInput(sample: tf.Tensor4D): tf.Tensor4D {
    return tf.clone(sample);
  }

  /** ᾱ at step i's timestep, and at the timestep it moves to (`beyondZero` once past timestep 0). */
  protected alphaBarPair(stepIndex: number, beyondZero: number): { current: number; previous: number } {
    const t = this.timesteps[stepIndex];
    const previous = t - this.stride;
    return { current: this.alphaBars[t], previous: previous >= 0 ? this.alphaBars[previous] : beyondZero };
  }

  abstract step(modelOutput: tf.Tensor4D, stepIndex: number, sample: tf.Tensor4D, random: Random): tf.Tensor4D;

  dispose(): void {}
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
