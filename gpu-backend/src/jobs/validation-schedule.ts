/**
 * When a training renders its validation samples: every `validation_every` steps
 * and always at the last step, so a short run (fewer steps than the interval)
 * still ends with a sample of what it learned.
 */
import type { TrainJob } from "../../../shared/job.js";

type ScheduleParams = Pick<TrainJob["params"], "steps" | "validation_every" | "validation_prompts">;

export function isValidationStep(step: number, params: ScheduleParams): boolean {
  if (params.validation_prompts.length === 0) return false;
  return step % params.validation_every === 0 || step === params.steps;
}
