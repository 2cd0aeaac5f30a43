/**
 * DDIM (Song et al. 2021) with η = 0, as diffusers' DDIMScheduler: deterministic, x_p =
 * √ᾱₚ·x̂₀ + √(1−ᾱₚ)·ε̂, where p is the previous visited timestep and, past timestep 0, ᾱₚ is ᾱ₀
 * (SD1.5's `set_alpha_to_one: false`) or 1.
 */
import * as tf from "@tensorflow/tfjs-core";
import { DiscreteScheduleSampler, predictedOriginalAndNoise } from "./sampler.js";

export class DdimSampler extends DiscreteScheduleSampler {
  /** ᾱ at the step's timestep and at the one it moves to. */
  alphaBarsOf(stepIndex: number): { current: number; previous: number } {
    return this.alphaBarPair(stepIndex, this.config.set_alpha_to_one ? 1 : this.alphaBars[0]);
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
}
