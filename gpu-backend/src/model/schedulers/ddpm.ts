/**
 * DDPM ancestral sampling (Ho et al. 2020), as diffusers' DDPMScheduler with SD1.5's config
 * (variance "fixed_small"): from x̂₀ and xₜ, the posterior mean
 * μ = √ᾱₚ·βₜ'/(1−ᾱₜ)·x̂₀ + √αₜ'·(1−ᾱₚ)/(1−ᾱₜ)·xₜ plus √σ²·z with σ² = (1−ᾱₚ)/(1−ᾱₜ)·βₜ', where p is the
 * previous visited timestep (ᾱ = 1 before 0) and αₜ' = ᾱₜ/ᾱₚ spans the skipped steps; no noise at t = 0.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Random } from "../../tensor/random.js";
import { DiscreteScheduleSampler, predictedOriginalAndNoise } from "./sampler.js";

export class DdpmSampler extends DiscreteScheduleSampler {
  /** The per-step scalars, exposed for tests: mean coefficients and the noise standard deviation. */
  coefficients(stepIndex: number): { originalCoefficient: number; sampleCoefficient: number; noiseStd: number } {
    const t = this.timesteps[stepIndex];
    const { current: alphaBar, previous: alphaBarPrevious } = this.alphaBarPair(stepIndex, 1);
    const currentAlpha = alphaBar / alphaBarPrevious;
    const currentBeta = 1 - currentAlpha;
    const variance = Math.max(((1 - alphaBarPrevious) / (1 - alphaBar)) * currentBeta, 1e-20);
    return {
      originalCoefficient: (Math.sqrt(alphaBarPrevious) * currentBeta) / (1 - alphaBar),
      sampleCoefficient: (Math.sqrt(currentAlpha) * (1 - alphaBarPrevious)) / (1 - alphaBar),
      noiseStd: t > 0 ? Math.sqrt(variance) : 0,
    };
  }

  step(modelOutput: tf.Tensor4D, stepIndex: number, sample: tf.Tensor4D, random: Random): tf.Tensor4D {
    const { originalCoefficient, sampleCoefficient, noiseStd } = this.coefficients(stepIndex);
    const noise = noiseStd > 0 ? random.normalArray(sample.size) : null;
    return tf.tidy(() => {
      let { original } = predictedOriginalAndNoise(this.config.prediction_type, modelOutput, sample, this.alphaBars[this.timesteps[stepIndex]]);
      if (this.config.clip_sample) original = tf.clipByValue(original, -this.config.clip_sample_range, this.config.clip_sample_range);
      const mean: tf.Tensor4D = tf.add(tf.mul(original, originalCoefficient), tf.mul(sample, sampleCoefficient));
      return noise == null ? mean : tf.add(mean, tf.mul(tf.tensor4d(noise, sample.shape), noiseStd));
    });
  }
}
