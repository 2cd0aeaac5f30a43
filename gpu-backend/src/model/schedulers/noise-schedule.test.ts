import { describe, expect, it } from "vitest";
import { SchedulerConfigSchema, SD15_SCHEDULER_CONFIG } from "./config.js";
import { alphasCumprod, betas, dpmSolverTimesteps, inferenceTimesteps, sigmaAt, trainingSigmas } from "./noise-schedule.js";

/** β_t of SD1.5 written out: (√0.00085 + (√0.012 − √0.00085)·t/999)². */
const sdBeta = (t: number) => (Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * t) / 999) ** 2;

describe("noise schedule", () => {
  it("scaled_linear betas interpolate √β between beta_start and beta_end", () => {
    const b = betas(SD15_SCHEDULER_CONFIG);
    expect(b.length).toBe(1000);
    expect(b[0]).toBeCloseTo(0.00085, 12);
    expect(b[999]).toBeCloseTo(0.012, 12);
    expect(b[500]).toBeCloseTo(sdBeta(500), 12);
  });

  it("linear betas interpolate β itself", () => {
    const b = betas(SchedulerConfigSchema.parse({ beta_schedule: "linear", beta_start: 0.0001, beta_end: 0.02 }));
    expect(b[0]).toBeCloseTo(0.0001, 12);
    expect(b[999]).toBeCloseTo(0.02, 12);
    expect(b[333]).toBeCloseTo(0.0001 + (0.0199 * 333) / 999, 12);
  });

  it("alphas_cumprod at several t equal the product of (1 − β)", () => {
    const alphaBars = alphasCumprod(SD15_SCHEDULER_CONFIG);
    expect(alphaBars[0]).toBeCloseTo(0.99915, 12);
    expect(alphaBars[1]).toBeCloseTo(0.99915 * (1 - sdBeta(1)), 12);
    let product = 1;
    for (let t = 0; t <= 999; t++) product *= 1 - sdBeta(t);
    expect(alphaBars[999]).toBeCloseTo(product, 12);
    // SD1.5's well-known end of schedule: ᾱ_999 ≈ 0.00466, σ_max ≈ 14.61.
    expect(alphaBars[999]).toBeCloseTo(0.004660, 5);
    expect(trainingSigmas(alphaBars)[999]).toBeCloseTo(14.6146, 3);
  });

  it("leading spacing with steps_offset 1 gives 981, 961, …, 1 for 50 steps", () => {
    const timesteps = inferenceTimesteps(SD15_SCHEDULER_CONFIG, 50);
    expect(timesteps).toHaveLength(50);
    expect(timesteps.slice(0, 3)).toEqual([981, 961, 941]);
    expect(timesteps.at(-1)).toBe(1);
    expect(inferenceTimesteps(SD15_SCHEDULER_CONFIG, 25).slice(0, 3)).toEqual([961, 921, 881]);
  });

  it("trailing spacing ends at T − 1 and linspace spans 0…T−1", () => {
    expect(inferenceTimesteps(SchedulerConfigSchema.parse({ timestep_spacing: "trailing" }), 4)).toEqual([999, 749, 499, 249]);
    expect(inferenceTimesteps(SchedulerConfigSchema.parse({ timestep_spacing: "linspace" }), 4)).toEqual([999, 666, 333, 0]);
  });

  it("DPM-Solver's leading timesteps space n+1 points and drop the last, as diffusers does", () => {
    const timesteps = dpmSolverTimesteps(SD15_SCHEDULER_CONFIG, 25);
    expect(timesteps.slice(0, 3)).toEqual([951, 913, 875]);
    expect(timesteps.at(-1)).toBe(39);
    expect(dpmSolverTimesteps(SD15_SCHEDULER_CONFIG, 50).slice(0, 2)).toEqual([951, 932]);
  });

  it("rejects a step count outside 1…T", () => {
    expect(() => inferenceTimesteps(SD15_SCHEDULER_CONFIG, 0)).toThrow(/1…1000/);
    expect(() => inferenceTimesteps(SD15_SCHEDULER_CONFIG, 1001)).toThrow(/1…1000/);
  });

  it("interpolates σ linearly between integer timesteps", () => {
    const sigmas = new Float64Array([0, 1, 4]);
    expect(sigmaAt(sigmas, 1.5)).toBe(2.5);
    expect(sigmaAt(sigmas, 2)).toBe(4);
  });
});
