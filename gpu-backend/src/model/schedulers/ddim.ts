/**
 * DDIM (Song et al. 2021) with η = 0, as diffusers' DDIMScheduler: deterministic, x_p =
 * √ᾱₚ·x̂₀ + √(1−ᾱₚ)·ε̂, where p is the previous visited timestep and, past timestep 0, ᾱₚ is ᾱ₀
 * (SD1.5's `set_alpha_to_one: false`) or 1.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SchedulerConfig } from "./config.js";
import { alphasCumprod, inferenceTimesteps } from "./noise-schedule.js";
import { predictedOriginalAndNoise, type Sampler } from "./sampler.js";

export class DdimSampler implements Sampler {
  readonly timesteps: number[];
  readonly initNoiseSigma = 1;
  private readonly alphaBars: Float64Array;
  private readonly stride: number;

  constructor(
    private readonly config: SchedulerConfig,
    steps: number,
  ) {
    this.alphaBars = alphasCumprod(config);
    this.timesteps = inferenceTimesteps(config, steps);
    this.stride = Math.floor(config.num_train_timesteps / steps);
  }

  scaleModelInput(sample: tf.Tensor4D): tf.Tensor4D {
    return tf.clone(sample);
  }

  /** ᾱ at the step's timestep and at the one it moves to. */
  alphaBarsOf(stepIndex: number): { current: number; previous: number } {
    const t = this.timesteps[stepIndex];
    const previous = t - this.stride;
    const final = this.config.set_alpha_to_one ? 1 : this.alphaBars[0];
    return { current: this.alphaBars[t], previous: previous >= 0 ? this.alphaBars[previous] : final };
  }

  step(modelOutput: tf.Tensor4D, stepIndex: number, sample: tf.Tensor4D): tf.Tensor4D {
    const { current, previous } = this.alphaBarsOf(stepIndex);
    return tf.tidy(() => {
      let { original, noise } = predictedOriginalAndNoise(this.config.prediction_type, modelOutput, sample, current);
      if (this.config.clip_sample) {
        original = tf.clipByValue(original, -this.config.clip_sample_range, this.config.clip_sample_range);
        noise = tf.div(tf.sub(sample, tf.mul(original, Math.sqrt(current))), Math.sqrt(1 - current));
      }
      return tf.add(tf.mul(original, Math.sqrt(previous)), tf.mul(noise, Math.sqrt(1 - previous)));
    });
  }

  dispose(): void {}
}
