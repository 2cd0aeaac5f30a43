/**
 * The rule that picks the exported step (shared/checkpoint-selection.ts says why it exists): among the
 * scored checkpoints whose prompt fidelity stays ≥ MIN_PROMPT_FIDELITY, the one with the highest subject
 * fidelity (the later step on a tie); the last step when none qualifies, when nothing was scored, or
 * when the client asked for "last". Pure, so every branch is tested without training anything; the
 * numbers come from the training-quality report, so a change of that metric changes the choice with it.
 */
import {
  MIN_PROMPT_FIDELITY,
  type CheckpointCandidate,
  type SelectedCheckpoint,
} from "../../../shared/checkpoint-selection.js";
import type { QualityReport } from "../../../shared/quality.js";

export interface ScoredCheckpoint {
  step: number;
  report: QualityReport;
}

export function candidateOf({ step, report }: ScoredCheckpoint): CheckpointCandidate {
  return { step, subject_fidelity: report.subject_fidelity, prompt_fidelity: report.prompt_fidelity };
}

const format = (value: number) => value.toFixed(3);

export function selectCheckpoint(
  selection: SelectedCheckpoint["selection"],
  lastStep: number,
  scored: ScoredCheckpoint[],
): SelectedCheckpoint {
  const candidates = scored.map(candidateOf).sort((a, b) => a.step - b.step);
  const last = (reason: string): SelectedCheckpoint => ({ selection, step: lastStep, reason, candidates });
  if (selection === "last") return last('checkpoint_selection is "last"');
  if (candidates.length === 0) return last("the base model has no judge to score checkpoints with, so the last step is exported");
  if (candidates.length === 1) return last("no checkpoint before the last step to compare with (checkpoint_every ≥ steps)");
  const eligible = candidates.filter((candidate) => candidate.prompt_fidelity >= MIN_PROMPT_FIDELITY);
  if (eligible.length === 0) {
    return last(`no checkpoint kept prompt fidelity ≥ ${MIN_PROMPT_FIDELITY}, so the last step is exported`);
  }
  const best = eligible.reduce((winner, candidate) => (candidate.subject_fidelity >= winner.subject_fidelity ? candidate : winner));
  return {
    selection,
    step: best.step,
    reason:
      `highest subject fidelity (${format(best.subject_fidelity)}) among the ${eligible.length} of ${candidates.length} ` +
      `scored checkpoints with prompt fidelity ≥ ${MIN_PROMPT_FIDELITY}`,
    candidates,
  };
}
