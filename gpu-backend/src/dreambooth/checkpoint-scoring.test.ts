import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_SCORED_CHECKPOINTS, SelectedCheckpointSchema } from "../../../shared/checkpoint-selection.js";
import type { QualityReport } from "../../../shared/quality.js";
import { CheckpointScoring } from "./checkpoint-scoring.js";

const directory = mkdtempSync(join(tmpdir(), "checkpoint-scoring-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const report = (subjectFidelity: number, promptFidelity: number) =>
  ({ subject_fidelity: subjectFidelity, prompt_fidelity: promptFidelity }) as QualityReport;

/** A training whose weights at each step score as given; each checkpoint file holds its step's name. */
async function train(selection: "last" | "best", scores: Record<number, QualityReport>, lastStep: number) {
  let step = 0;
  let scoreCalls = 0;
  const restored: string[] = [];
  const scoring = new CheckpointScoring({
    selection,
    score: async () => {
      scoreCalls++;
      return scores[step];
    },
    keptFile: join(directory, `${selection}-kept`),
  });
  const checkpointFile = join(directory, `${selection}-checkpoint`);
  for (step = 1; step < lastStep; step++) {
    writeFileSync(checkpointFile, `weights of step ${step}`);
    await scoring.consider(step, checkpointFile);
  }
  step = lastStep;
  const outcome = await scoring.finish(lastStep, async (file) => {
    restored.push(readFileSync(file, "utf8"));
  });
  return { outcome, restored, scoreCalls };
}

describe("checkpoint scoring during a training", () => {
  it("puts back the weights of the best checkpoint and reports its quality", async () => {
    const scores = { 1: report(0.4, 1), 2: report(0.6, 0.9), 3: report(0.8, 0.3), 4: report(0.5, 0.9) };
    const { outcome, restored } = await train("best", scores, 4);
    expect(outcome.selected.step).toBe(2);
    expect(restored).toEqual(["weights of step 2"]);
    expect(outcome.quality).toBe(scores[2]);
    expect(outcome.selected.candidates.map((candidate) => candidate.step)).toEqual([1, 2, 3, 4]);
  });

  it("keeps the final weights when they win, or when nothing qualifies", async () => {
    const wins = await train("best", { 1: report(0.4, 1), 2: report(0.5, 1), 3: report(0.9, 0.9) }, 3);
    expect([wins.outcome.selected.step, wins.restored, wins.outcome.quality?.subject_fidelity]).toEqual([3, [], 0.9]);
    const none = await train("best", { 1: report(0.4, 0.1), 2: report(0.5, 0.2), 3: report(0.9, 0.3) }, 3);
    expect([none.outcome.selected.step, none.restored]).toEqual([3, []]);
  });

  it('scores only the final weights with "last"', async () => {
    const { outcome, restored, scoreCalls } = await train("last", { 1: report(0.9, 1), 3: report(0.1, 1) }, 3);
    expect([outcome.selected.step, restored, scoreCalls, outcome.quality?.subject_fidelity]).toEqual([3, [], 1, 0.1]);
  });

  it("exports the last step with no quality when the model cannot be graded", async () => {
    const { outcome } = await train("best", {}, 3);
    expect(outcome).toMatchObject({ selected: { step: 3, candidates: [] }, quality: undefined });
  });

  it("scores at most MAX_SCORED_CHECKPOINTS checkpoints plus the last step, so the outcome fits the event", async () => {
    const lastStep = MAX_SCORED_CHECKPOINTS + 20;
    const scores = Object.fromEntries(Array.from({ length: lastStep }, (_, i) => [i + 1, report(i / lastStep, 1)]));
    const { outcome } = await train("best", scores, lastStep);
    expect(outcome.selected.candidates).toHaveLength(MAX_SCORED_CHECKPOINTS + 1);
    expect(outcome.selected.candidates.at(-1)?.step).toBe(lastStep);
    expect(SelectedCheckpointSchema.safeParse(outcome.selected).success).toBe(true);
  });
});
