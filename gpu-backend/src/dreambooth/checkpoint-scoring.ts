/**
 * Best-checkpoint selection during a training: each checkpoint is scored when it is written, with the
 * same function that grades the finished training, and the file of the one the rule would pick so far
 * is kept, so that at the end its weights can be put back before the export. Only that one file is
 * kept (an SD1.5 full fine-tune checkpoint is gigabytes). The rule is best-checkpoint.ts; with
 * `selection: "last"` nothing is scored but the final weights, whose report the training needs anyway.
 * A resumed attempt compares the checkpoints it writes itself, from the resumed step on; past
 * MAX_SCORED_CHECKPOINTS, later checkpoints are not scored (the last step always is).
 */
import { copyFile } from "node:fs/promises";
import { MAX_SCORED_CHECKPOINTS, type SelectedCheckpoint } from "../../../shared/checkpoint-selection.js";
import type { QualityReport } from "../../../shared/quality.js";
import { selectCheckpoint, type ScoredCheckpoint } from "./best-checkpoint.js";

export interface CheckpointScoringOptions {
  selection: SelectedCheckpoint["selection"];
  /** The training-quality report of the weights as they are now; undefined when the base model cannot be graded. */
  score(): Promise<QualityReport | undefined>;
  /** Where the kept checkpoint is copied. */
  keptFile: string;
}

export interface ScoringOutcome {
  selected: SelectedCheckpoint;
  /** The report of the exported weights, when they could be graded. */
  quality: QualityReport | undefined;
}

export class CheckpointScoring {
  private readonly scored: ScoredCheckpoint[] = [];
  private keptStep: number | undefined;

  constructor(private readonly options: CheckpointScoringOptions) {}

  /** Call after the checkpoint of `step` was written to `checkpointFile`, with its weights still live. */
  async consider(step: number, checkpointFile: string): Promise<void> {
    if (this.options.selection !== "best" || this.scored.length >= MAX_SCORED_CHECKPOINTS) return;
    const report = await this.options.score();
    if (!report) return;
    this.scored.push({ step, report });
    // Were training to end here with this step as the last, this is what the rule would export.
    if (selectCheckpoint("best", step, this.scored).step === step) {
      await copyFile(checkpointFile, this.options.keptFile);
      this.keptStep = step;
    }
  }

  /**
   * Scores the final weights, applies the rule and, when an earlier checkpoint wins, hands its file to
   * `restore` so the live weights become that step's before they are exported.
   */
  async finish(lastStep: number, restore: (file: string) => Promise<void>): Promise<ScoringOutcome> {
    const final = await this.options.score();
    if (final && this.options.selection === "best") this.scored.push({ step: lastStep, report: final });
    const selected = selectCheckpoint(this.options.selection, lastStep, this.scored);
    if (selected.step === lastStep) return { selected, quality: final };
    // The winner was the rule's pick when it was scored, and nothing after it displaced it, so its file is the kept one.
    if (this.keptStep !== selected.step) throw new Error(`checkpoint of step ${selected.step} was not kept (kept: ${this.keptStep})`);
    await restore(this.options.keptFile);
    return { selected, quality: this.scored.find((scored) => scored.step === selected.step)!.report };
  }
}
