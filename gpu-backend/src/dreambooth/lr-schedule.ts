/**
 * Learning-rate schedules as diffusers' `get_scheduler` computes them (a LambdaLR
 * factor per 0-based step): linear warmup from 0, then constant or a half cosine
 * down to 0 at the last step. Pure, so a resumed run recomputes the same rate.
 */
import type { LR_SCHEDULES } from "../../../shared/params.js";

export interface LrSchedule {
  kind: (typeof LR_SCHEDULES)[number];
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
}

export function learningRateAt(schedule: LrSchedule, step: number): number {
  const { kind, baseLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (baseLr * step) / Math.max(1, warmupSteps);
  if (kind === "constant") return baseLr;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
