/**
 * The numbers every scheduler shares, as pure functions of the config: βₜ, ᾱₜ = ∏(1 − βᵢ), the
 * inference timesteps for a number of steps, and the noise levels σₜ = √((1 − ᾱₜ)/ᾱₜ) the
 * Karras-style samplers (Euler, DPM-Solver) integrate over. Computed in float64 (diffusers uses
 * float32 tensors; the two agree to ~1e-7 relative). Timestep spacing follows diffusers'
 * `set_timesteps`; "leading" with `steps_offset` 1 is what SD1.5 ships.
 */
import type { SchedulerConfig } from "./config.js";

/** β₀ … β_{T−1}: `linear` interpolates β, `scaled_linear` interpolates √β (Stable Diffusion). */
export function betas(config: SchedulerConfig): Float64Array {
  const steps = config.num_train_timesteps;
  const out = new Float64Array(steps);
  const scaled = config.beta_schedule === "scaled_linear";
  const start = scaled ? Math.sqrt(config.beta_start) : config.beta_start;
  const end = scaled ? Math.sqrt(config.beta_end) : config.beta_end;
  for (let t = 0; t < steps; t++) {
    const value = steps === 1 ? start : start + ((end - start) * t) / (steps - 1);
    out[t] = scaled ? value * value : value;
  }
  return out;
}

/** ᾱₜ: the fraction of signal variance left at training timestep t. */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const out = betas(config);
  let product = 1;
  for (let t = 0; t < out.length; t++) {
    product *= 1 - out[t];
    out[t] = product;
  }
  return out;
}

/** σₜ = √((1 − ᾱₜ)/ᾱₜ) for every training timestep. */
export function trainingSigmas(alphaBars: Float64Array): Float64Array {
  return alphaBars.map((alphaBar) => Math.sqrt((1 - alphaBar) / alphaBar));
}

/**
 * The timesteps DDPM, DDIM and Euler visit, highest first, as diffusers' `set_timesteps`:
 * "leading" (SD1.5) is ⌊T/n⌋·k + offset, e.g. 50 steps → 981, 961, …, 1.
 */
export function inferenceTimesteps(config: SchedulerConfig, steps: number): number[] {
  const total = config.num_train_timesteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > total) throw new Error(`inference steps must be in 1…${total}, got ${steps}`);
  const ascending: number[] = [];
  if (config.timestep_spacing === "leading") {
    const ratio = Math.floor(total / steps);
    for (let k = 0; k < steps; k++) ascending.push(k * ratio + config.steps_offset);
  } else if (config.timestep_spacing === "trailing") {
    const ratio = total / steps;
    for (let k = steps; k >= 1; k--) ascending.unshift(Math.round(k * ratio) - 1);
  } else {
    for (let k = 0; k < steps; k++) ascending.push(Math.round((k * (total - 1)) / Math.max(1, steps - 1)));
  }
  return ascending.reverse();
}

/**
 * DPMSolverMultistepScheduler's timesteps, which differ from the others' under "leading": it spaces
 * n + 1 points by ⌊T/(n+1)⌋ and drops the last (50 steps → 951, 932, …, 20).
 */
export function dpmSolverTimesteps(config: SchedulerConfig, steps: number): number[] {
  if (config.timestep_spacing !== "leading") return inferenceTimesteps(config, steps);
  const ratio = Math.floor(config.num_train_timesteps / (steps + 1));
  const out: number[] = [];
  for (let k = steps; k >= 1; k--) out.push(k * ratio + config.steps_offset);
  return out;
}

/** σ at a (possibly fractional) timestep by linear interpolation, as `np.interp` over 0…T−1. */
export function sigmaAt(sigmas: Float64Array, timestep: number): number {
  const clamped = Math.min(Math.max(timestep, 0), sigmas.length - 1);
  const below = Math.floor(clamped);
  const above = Math.min(below + 1, sigmas.length - 1);
  return sigmas[below] + (sigmas[above] - sigmas[below]) * (clamped - below);
}
