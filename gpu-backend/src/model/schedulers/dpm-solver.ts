/**
 * DPM-Solver++(2M) (Lu et al. 2022), as diffusers' DPMSolverMultistepScheduler with
 * `algorithm_type: dpmsolver++`, `solver_order: 2`, `solver_type: midpoint` and a final σ of 0 (so the
 * last step is first order). It works in λ = log(α/σ) with αₜ = 1/√(σ²+1), σₜ = σ·αₜ and the model's
 * x̂₀: first order x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀, second order adds −½·α_t(e^{−h} − 1)·D₁ with
 * D₁ = (x̂₀ − x̂₀_prev)·h/h_prev. It keeps the previous x̂₀ between steps (freed after the last).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SchedulerConfig } from "./config.js";
import { alphasCumprod, dpmSolverTimesteps, sigmaAt, trainingSigmas } from "./noise-schedule.js";
import type { Sampler } from "./sampler.js";

/** α, σ and λ of a noise level σ (in the variance-preserving parametrisation). */
function levels(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const scaled = sigma * alpha;
  return { alpha, sigma: scaled, lambda: Math.log(alpha) - Math.log(scaled) };
}

export class DpmSolverMultistepSampler implements Sampler {
  readonly timesteps: number[];
  readonly initNoiseSigma = 1;
  /** σ at each visited timestep, then 0. */
  readonly sigmas: number[];
  private previousOriginal: tf.Tensor4D | null = null;

  constructor(
    private readonly config: SchedulerConfig,
    steps: number,
  ) {
    const table = trainingSigmas(alphasCumprod(config));
    this.timesteps = dpmSolverTimesteps(config, steps);
    this.sigmas = [...this.timesteps.map((t) => sigmaAt(table, t)), 0];
  }

  scaleModelInput(sample: tf.Tensor4D): tf.Tensor4D {
    return tf.clone(sample);
  }

  /**
   * The coefficients of x, x̂₀ and x̂₀_prev in the update at step i (exposed for tests): first order
   * on the first step and the last, second order in between.
   */
  coefficients(stepIndex: number): { sample: number; original: number; previousOriginal: number } {
    const source = levels(this.sigmas[stepIndex]);
    const target = levels(this.sigmas[stepIndex + 1]);
    const h = target.lambda - source.lambda;
    // With σ_t = 0 (the final step), λ_t = ∞ and e^{−h} = 0: the step returns x̂₀ exactly.
    const expm = Number.isFinite(h) ? Math.exp(-h) - 1 : -1;
    const sampleCoefficient = target.sigma === 0 ? 0 : target.sigma / source.sigma;
    const isLast = stepIndex === this.timesteps.length - 1;
    if (stepIndex === 0 || isLast) return { sample: sampleCoefficient, original: -target.alpha * expm, previousOriginal: 0 };
    const hPrevious = source.lambda - levels(this.sigmas[stepIndex - 1]).lambda;
    const inverseRatio = h / hPrevious;
    // D₀ = x̂₀, D₁ = (x̂₀ − x̂₀_prev)/r with r = h_prev/h; the update is −α(e^{−h}−1)(D₀ + ½D₁).
    return {
      sample: sampleCoefficient,
      original: -target.alpha * expm * (1 + 0.5 * inverseRatio),
      previousOriginal: target.alpha * expm * 0.5 * inverseRatio,
    };
  }

  step(modelOutput: tf.Tensor4D, stepIndex: number, sample: tf.Tensor4D): tf.Tensor4D {
    const { alpha, sigma } = levels(this.sigmas[stepIndex]);
    const { sample: sampleCoefficient, original: originalCoefficient, previousOriginal: previousCoefficient } = this.coefficients(stepIndex);
    const original = tf.tidy(() =>
      this.config.prediction_type === "epsilon"
        ? tf.div(tf.sub(sample, tf.mul(modelOutput, sigma)), alpha)
        : tf.sub(tf.mul(sample, alpha), tf.mul(modelOutput, sigma)),
    ) as tf.Tensor4D;
    const next = tf.tidy(() => {
      let update: tf.Tensor4D = tf.add(tf.mul(sample, sampleCoefficient), tf.mul(original, originalCoefficient));
      if (previousCoefficient !== 0 && this.previousOriginal != null) update = tf.add(update, tf.mul(this.previousOriginal, previousCoefficient));
      return update;
    });
    this.previousOriginal?.dispose();
    this.previousOriginal = null;
    // Kept, because callers usually run a step inside tf.tidy and x̂₀ must outlive it.
    if (stepIndex < this.timesteps.length - 1) this.previousOriginal = tf.keep(original);
    else original.dispose();
    return next;
  }

  dispose(): void {
    this.previousOriginal?.dispose();
    this.previousOriginal = null;
  }
}
