import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../tensor/random.js";
import { SchedulerConfigSchema, SD15_SCHEDULER_CONFIG } from "./config.js";
import { DdimSampler } from "./ddim.js";
import { DdpmSampler } from "./ddpm.js";
import { DpmSolverMultistepSampler } from "./dpm-solver.js";
import { EulerSampler } from "./euler.js";
import { createSampler } from "./index.js";
import { alphasCumprod } from "./noise-schedule.js";
import { addNoise, velocityTarget } from "./training.js";

const alphaBars = alphasCumprod(SD15_SCHEDULER_CONFIG);
const shape: [number, number, number, number] = [2, 2, 2, 1];
const filled = (value: number) => tf.fill(shape, value) as tf.Tensor4D;
const valuesOf = (t: tf.Tensor) => Array.from(t.dataSync());
/** σ of a VP noise level from ᾱ, the quantity the Karras-style samplers use. */
const sigmaOf = (alphaBar: number) => Math.sqrt((1 - alphaBar) / alphaBar);

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("training noise", () => {
  it("add_noise mixes √ᾱₜ·x₀ + √(1−ᾱₜ)·ε with each element's own timestep", () => {
    const noisy = addNoise(alphaBars, filled(2), filled(-1), [10, 500]);
    const [first, second] = [valuesOf(noisy)[0], valuesOf(noisy)[4]];
    expect(first).toBeCloseTo(2 * Math.sqrt(alphaBars[10]) - Math.sqrt(1 - alphaBars[10]), 5);
    expect(second).toBeCloseTo(2 * Math.sqrt(alphaBars[500]) - Math.sqrt(1 - alphaBars[500]), 5);
  });

  it("the v target is √ᾱₜ·ε − √(1−ᾱₜ)·x₀", () => {
    const v = valuesOf(velocityTarget(alphaBars, filled(2), filled(-1), [999, 0]));
    expect(v[0]).toBeCloseTo(-Math.sqrt(alphaBars[999]) - 2 * Math.sqrt(1 - alphaBars[999]), 5);
    expect(v[7]).toBeCloseTo(-Math.sqrt(alphaBars[0]) - 2 * Math.sqrt(1 - alphaBars[0]), 5);
  });

  it("rejects a timestep outside the schedule", () => {
    expect(() => addNoise(alphaBars, filled(0), filled(0), [1000, 0])).toThrow(/timestep 1000/);
  });
});

describe("DDIM (η = 0)", () => {
  it("one step from t = 981 to 961 matches the formula computed by hand", () => {
    const sampler = new DdimSampler(SD15_SCHEDULER_CONFIG, 50);
    const [a, b] = [alphaBars[981], alphaBars[961]];
    const original = (0.7 - Math.sqrt(1 - a) * 0.3) / Math.sqrt(a);
    const expected = Math.sqrt(b) * original + Math.sqrt(1 - b) * 0.3;
    expect(valuesOf(sampler.step(filled(0.3), 0, filled(0.7)))[0]).toBeCloseTo(expected, 5);
  });

  it("the last step lands on ᾱ₀ (set_alpha_to_one false) or on x̂₀ (true)", () => {
    expect(new DdimSampler(SD15_SCHEDULER_CONFIG, 50).alphaBarsOf(49)).toEqual({ current: alphaBars[1], previous: alphaBars[0] });
    const toOne = new DdimSampler(SchedulerConfigSchema.parse({ set_alpha_to_one: true }), 50);
    expect(toOne.alphaBarsOf(49).previous).toBe(1);
  });

  it("v-prediction recovers x̂₀ = √ᾱ·x − √(1−ᾱ)·v", () => {
    const sampler = new DdimSampler(SchedulerConfigSchema.parse({ prediction_type: "v_prediction", set_alpha_to_one: true }), 50);
    const a = alphaBars[1];
    // Last step to ᾱ = 1: the result is x̂₀ itself.
    expect(valuesOf(sampler.step(filled(0.2), 49, filled(0.5)))[0]).toBeCloseTo(Math.sqrt(a) * 0.5 - Math.sqrt(1 - a) * 0.2, 5);
  });
});

describe("DDPM ancestral sampling", () => {
  it("mean coefficients and variance follow the fixed_small posterior across skipped steps", () => {
    const sampler = new DdpmSampler(SD15_SCHEDULER_CONFIG, 50);
    const [a, p] = [alphaBars[981], alphaBars[961]];
    const beta = 1 - a / p;
    const c = sampler.coefficients(0);
    expect(c.originalCoefficient).toBeCloseTo((Math.sqrt(p) * beta) / (1 - a), 12);
    expect(c.sampleCoefficient).toBeCloseTo((Math.sqrt(a / p) * (1 - p)) / (1 - a), 12);
    expect(c.noiseStd).toBeCloseTo(Math.sqrt(((1 - p) / (1 - a)) * beta), 12);
    // From t = 1 the previous ᾱ is 1: no variance left.
    expect(sampler.coefficients(49).noiseStd).toBeLessThan(1e-9);
  });

  it("adds seeded noise: same seed, same sample; different seed, different sample", () => {
    const sampler = new DdpmSampler(SD15_SCHEDULER_CONFIG, 10);
    const run = (seed: number) => valuesOf(sampler.step(filled(0.1), 0, filled(0.5), new Random(seed)));
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });
});

describe("Euler (discrete)", () => {
  it("σ's are interpolated from the training schedule and end at 0; init_noise_sigma is √(σ_max²+1)", () => {
    const sampler = new EulerSampler(SD15_SCHEDULER_CONFIG, 50);
    expect(sampler.sigmas).toHaveLength(51);
    expect(sampler.sigmas[0]).toBeCloseTo(sigmaOf(alphaBars[981]), 10);
    expect(sampler.sigmas[49]).toBeCloseTo(sigmaOf(alphaBars[1]), 10);
    expect(sampler.sigmas[50]).toBe(0);
    expect(sampler.initNoiseSigma).toBeCloseTo(Math.sqrt(sampler.sigmas[0] ** 2 + 1), 10);
  });

  it("scales the model input by 1/√(σ²+1) and steps x + (x − x̂₀)/σ·(σ_next − σ)", () => {
    const sampler = new EulerSampler(SD15_SCHEDULER_CONFIG, 50);
    const [s0, s1] = sampler.sigmas;
    expect(valuesOf(sampler.scaleModelInput(filled(3), 0))[0]).toBeCloseTo(3 / Math.sqrt(s0 * s0 + 1), 5);
    // ε-prediction: x̂₀ = x − σ·ε, so the derivative is ε and the step is x + ε·(σ₁ − σ₀).
    expect(valuesOf(sampler.step(filled(0.25), 0, filled(4)))[0]).toBeCloseTo(4 + 0.25 * (s1 - s0), 4);
  });
});

describe("DPM-Solver++ 2M", () => {
  const sampler = new DpmSolverMultistepSampler(SD15_SCHEDULER_CONFIG, 20);
  const levels = (sigma: number) => {
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    return { alpha, sigma: sigma * alpha, lambda: Math.log(1 / sigma) };
  };

  it("first step is first order: x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀", () => {
    const [s, t] = [levels(sampler.sigmas[0]), levels(sampler.sigmas[1])];
    const h = t.lambda - s.lambda;
    const c = sampler.coefficients(0);
    expect(c.sample).toBeCloseTo(t.sigma / s.sigma, 12);
    expect(c.original).toBeCloseTo(-t.alpha * (Math.exp(-h) - 1), 12);
    expect(c.previousOriginal).toBe(0);
  });

  it("middle steps are second order with D₁ = (x̂₀ − x̂₀_prev)/r, r = h_prev/h", () => {
    const [p, s, t] = [levels(sampler.sigmas[4]), levels(sampler.sigmas[5]), levels(sampler.sigmas[6])];
    const h = t.lambda - s.lambda;
    const r = (s.lambda - p.lambda) / h;
    const phi = -t.alpha * (Math.exp(-h) - 1);
    const c = sampler.coefficients(5);
    expect(c.original).toBeCloseTo(phi * (1 + 0.5 / r), 12);
    expect(c.previousOriginal).toBeCloseTo(-phi * (0.5 / r), 12);
  });

  it("on constant model outputs, two steps equal the updates computed by hand", () => {
    const fresh = new DpmSolverMultistepSampler(SD15_SCHEDULER_CONFIG, 20);
    const x0 = 0.8;
    const s0 = levels(fresh.sigmas[0]);
    const original0 = (x0 - s0.sigma * 0.1) / s0.alpha;
    const first = fresh.step(filled(0.1), 0, filled(x0));
    const x1 = fresh.coefficients(0).sample * x0 + fresh.coefficients(0).original * original0;
    expect(valuesOf(first)[0]).toBeCloseTo(x1, 4);
    const s1 = levels(fresh.sigmas[1]);
    const original1 = (x1 - s1.sigma * 0.1) / s1.alpha;
    const c = fresh.coefficients(1);
    const x2 = c.sample * x1 + c.original * original1 + c.previousOriginal * original0;
    expect(valuesOf(fresh.step(filled(0.1), 1, first))[0]).toBeCloseTo(x2, 4);
    fresh.dispose();
  });
});

describe("every deterministic sampler denoises exactly when the model is the ideal denoiser of one point", () => {
  // For data that is always x₀, the exact ε-prediction at (x, t) is (x − √ᾱₜ·x₀)/√(1−ᾱₜ): ODE solvers
  // in these parametrisations are exact for it, so the result is x₀ (DDIM stops at ᾱ₀, not 1).
  for (const name of ["ddim", "euler", "dpmpp_2m"] as const) {
    it(name, () => {
      const sampler = createSampler(name, SD15_SCHEDULER_CONFIG, 12);
      const target = 0.37;
      const before = tf.memory().numTensors;
      let sample = tf.tidy(() => tf.mul(new Random(3).normal<tf.Rank.R4>(shape), sampler.initNoiseSigma)) as tf.Tensor4D;
      const noise = valuesOf(sample).map((value) => value / sampler.initNoiseSigma);
      sampler.timesteps.forEach((t, i) => {
        const input = sampler.scaleModelInput(sample, i);
        const epsilon = tf.tidy(() => tf.div(tf.sub(input, Math.sqrt(alphaBars[t]) * target), Math.sqrt(1 - alphaBars[t]))) as tf.Tensor4D;
        const next = sampler.step(epsilon, i, sample, new Random(0));
        tf.dispose([input, epsilon, sample]);
        sample = next;
      });
      // DDIM keeps ε̂ of the first step, (x_T − √ᾱ_T·x₀)/√(1−ᾱ_T), and ends at √ᾱ₀·x₀ + √(1−ᾱ₀)·ε̂.
      const first = alphaBars[sampler.timesteps[0]];
      const expected =
        name === "ddim"
          ? noise.map((n) => Math.sqrt(alphaBars[0]) * target + (Math.sqrt(1 - alphaBars[0]) * (n - Math.sqrt(first) * target)) / Math.sqrt(1 - first))
          : noise.map(() => target);
      valuesOf(sample).forEach((value, i) => expect(value).toBeCloseTo(expected[i], 3));
      sample.dispose();
      sampler.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
