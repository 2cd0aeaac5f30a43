/**
 * The schedulers by the names the API uses (`shared/params.ts` SCHEDULERS), built from a diffusers
 * scheduler config and a number of inference steps.
 */
import type { SCHEDULERS } from "../../../../shared/params.js";
import type { SchedulerConfig } from "./config.js";
import { DdimSampler } from "./ddim.js";
import { DdpmSampler } from "./ddpm.js";
import { DpmSolverMultistepSampler } from "./dpm-solver.js";
import { EulerSampler } from "./euler.js";
import type { Sampler } from "./sampler.js";

export type SchedulerName = (typeof SCHEDULERS)[number];

export function createSampler(name: SchedulerName, config: SchedulerConfig, steps: number): Sampler {
  switch (name) {
    case "ddpm":
      return new DdpmSampler(config, steps);
    case "ddim":
      return new DdimSampler(config, steps);
    case "euler":
      return new EulerSampler(config, steps);
    case "dpmpp_2m":
      return new DpmSolverMultistepSampler(config, steps);
  }
}

export { SchedulerConfigSchema, SD15_SCHEDULER_CONFIG, type SchedulerConfig } from "./config.js";
export type { Sampler } from "./sampler.js";
export { addNoise, trainingNoiseSchedule, trainingTarget, velocityTarget } from "./training.js";
