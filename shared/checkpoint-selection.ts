/**
 * Which training step a training exported, and why (`params.checkpoint_selection`). Longer DreamBooth
 * runs overfit: the subject gets closer to the photos while prompts stop being followed (the photos'
 * background comes back whatever the prompt asks). With "best" the backend scores every checkpoint it
 * writes with the same measures as the training's quality report and exports the one with the highest
 * subject fidelity among those that still follow their prompts (prompt fidelity ≥ 0.8), falling back to
 * the last step when none does or when the base model has no judge to score with. The training record
 * carries the outcome, candidates included, so a client can see what was traded.
 */
import { z } from "zod";

export const CHECKPOINT_SELECTIONS = ["last", "best"] as const;

/** A checkpoint is eligible for "best" only while this share of its generations still follows the prompt. */
export const MIN_PROMPT_FIDELITY = 0.8;

/**
 * Each score is a quality evaluation (seconds to minutes), and the candidates travel in the `succeeded`
 * event: a training scores its first this-many checkpoints, plus its last step.
 */
export const MAX_SCORED_CHECKPOINTS = 100;

export const CheckpointCandidateSchema = z.object({
  step: z.number().int().nonnegative(),
  subject_fidelity: z.number(),
  prompt_fidelity: z.number().min(0).max(1),
});
export type CheckpointCandidate = z.infer<typeof CheckpointCandidateSchema>;

export const SelectedCheckpointSchema = z.object({
  /** What the training asked for. */
  selection: z.enum(CHECKPOINT_SELECTIONS),
  /** The step whose weights were exported. */
  step: z.number().int().nonnegative(),
  reason: z.string().max(500),
  /** Every scored checkpoint, in step order (empty when none was scored). */
  candidates: z.array(CheckpointCandidateSchema).max(MAX_SCORED_CHECKPOINTS + 1),
});
export type SelectedCheckpoint = z.infer<typeof SelectedCheckpointSchema>;
