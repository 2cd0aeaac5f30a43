/**
 * Euler's method on the probability-flow ODE in σ (Karras et al. 2022), as diffusers'
 * EulerDiscreteScheduler with no churn: latents live at scale √(σ²+1), so the UNet's input is divided
 * by that, x̂₀ = x − σ·ε̂ (or the v-prediction form), and x ← x + (x − x̂₀)/σ · (σ_next − σ). The
 * σ of each timestep is interpolated from the training σ's; σ after the last step is 0.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SchedulerConfig } from "./config.js";
import { alphasCumprod, inferenceTimesteps, sigmaAt, trainingSigmas } from "./noise-schedule.js";
import type { Sampler } from "./sampler.js";

export class EulerSampler implements Sampler {
  readonly timesteps: number[];
  readonly initNoiseSigma: number;
  /** σ at each visited timestep, then 0. */
  readonly sigmas: number[];

  constructor(
    private readonly config: SchedulerConfig,
    steps: number,
  ) {
    const table = trainingSigmas(alphasCumprod(config));
    this.timesteps = inferenceTimesteps(config, steps);
    this.sigmas = [...this.timesteps.map((t) => sigmaAt(table, t)), 0];
    const maxSigma = Math.max(...this.sigmas);
    this.initNoiseSigma = config.timestep_spacing === "trailing" || config.timestep_spacing === "linspace" ? maxSigma : Math.sqrt(maxSigma * maxSigma + 1);
  }

  scaleModelInput(sample: tf.Tensor4D, stepIndex: number): tf.Tensor4D {
    const sigma = this.sigmas[stepIndex];
    return tf.div(sample, Math.sqrt(sigma * sigma + 1));
  }

  step(modelOutput: tf.Tensor4D, stepIndex: number, sample: tf.Tensor4D): tf.Tensor4D {
    const sigma = this.sigmas[stepIndex];
    const next = this.sigmas[stepIndex + 1];
    return tf.tidy(() => {
      const original =
        this.config.prediction_type === "epsilon"
          ? tf.sub(sample, tf.mul(modelOutput, sigma))
          : tf.add(tf.mul(modelOutput, -sigma / Math.sqrt(sigma * sigma + 1)), tf.div(sample, sigma * sigma + 1));
      const derivative = tf.div(tf.sub(sample, original), sigma);
      return tf.add(sample, tf.mul(derivative, next - sigma));
    });
  }

  dispose(): void {}
}
