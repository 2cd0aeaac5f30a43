/**
 * The forward (noising) process DDPM training uses: x_t = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε for one timestep per
 * batch element, and the two regression targets diffusers supports — ε itself, or the velocity
 * v = √ᾱₜ·ε − √(1−ᾱₜ)·x₀ (Salimans & Ho 2022) for v-prediction checkpoints.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SchedulerConfig } from "./config.js";
import { alphasCumprod } from "./noise-schedule.js";

/** The training schedule the DreamBooth trainer consumes (ᾱ as float32, as diffusers keeps it). */
export function trainingNoiseSchedule(config: SchedulerConfig): { alphasCumprod: Float32Array; predictionType: "epsilon" | "v_prediction" } {
  return { alphasCumprod: Float32Array.from(alphasCumprod(config)), predictionType: config.prediction_type };
}

/** [N,1,1,1] tensors of √ᾱₜ and √(1−ᾱₜ) for each element's timestep. */
function signalAndNoiseScales(alphaBars: ArrayLike<number>, timesteps: number[]): [tf.Tensor4D, tf.Tensor4D] {
  for (const t of timesteps) if (!Number.isInteger(t) || t < 0 || t >= alphaBars.length) throw new Error(`timestep ${t} outside 0…${alphaBars.length - 1}`);
  const signal = timesteps.map((t) => Math.sqrt(alphaBars[t]));
  const noise = timesteps.map((t) => Math.sqrt(1 - alphaBars[t]));
  return [tf.tensor4d(signal, [timesteps.length, 1, 1, 1]), tf.tensor4d(noise, [timesteps.length, 1, 1, 1])];
}

/** x_t for clean latents x₀ [N,H,W,C], noise ε of the same shape, and one timestep per element. */
export function addNoise(alphaBars: ArrayLike<number>, clean: tf.Tensor4D, noise: tf.Tensor4D, timesteps: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const [signal, noiseScale] = signalAndNoiseScales(alphaBars, timesteps);
    return tf.add(tf.mul(clean, signal), tf.mul(noise, noiseScale));
  });
}

/** The v-prediction target √ᾱₜ·ε − √(1−ᾱₜ)·x₀ (diffusers' `get_velocity`). */
export function velocityTarget(alphaBars: ArrayLike<number>, clean: tf.Tensor4D, noise: tf.Tensor4D, timesteps: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const [signal, noiseScale] = signalAndNoiseScales(alphaBars, timesteps);
    return tf.sub(tf.mul(noise, signal), tf.mul(clean, noiseScale));
  });
}

/** What the UNet learns to predict for a config's `prediction_type`. */
export function trainingTarget(config: SchedulerConfig, alphaBars: ArrayLike<number>, clean: tf.Tensor4D, noise: tf.Tensor4D, timesteps: number[]): tf.Tensor4D {
  return config.prediction_type === "epsilon" ? tf.clone(noise) : velocityTarget(alphaBars, clean, noise, timesteps);
}
