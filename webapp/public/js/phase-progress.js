// @ts-check
/**
 * What the live training screen says about where a training is: each phase
 * with its own count — class images while preparing, steps while training, the
 * weights and the quality report while exporting — so the minute before the
 * first step does not look frozen. Pure.
 */
import { isTerminal } from "./job-status.js";

/**
 * @param {{ status: string, progress: { phase: string | null, step: number, total_steps: number }, params: Record<string, unknown> }} training
 * @returns {{ phase: string, label: string, value: number, max: number }}
 */
export function phaseProgress({ status, progress, params }) {
  const steps = Number(params.steps ?? progress.total_steps);
  const { step, total_steps: total } = progress;
  if (status === "succeeded") return { phase: "training", label: `step ${steps} / ${steps}`, value: steps, max: steps };
  if (isTerminal(status) || progress.phase === null) return { phase: progress.phase ?? status, label: `step 0 / ${steps}`, value: 0, max: steps };
  if (progress.phase === "preparing") {
    if (total === 0) return { phase: "preparing", label: "loading the base model", value: 0, max: 1 };
    return { phase: "preparing", label: `class images ${step} / ${total}`, value: step, max: total };
  }
  if (progress.phase === "exporting") return { phase: "exporting", label: `export ${step} / ${total}`, value: step, max: Math.max(total, 1) };
  return { phase: progress.phase, label: `step ${step} / ${total}`, value: step, max: Math.max(total, 1) };
}
