import { describe, expect, it } from "vitest";
import { SelectedCheckpointSchema } from "../../../shared/checkpoint-selection.js";
import { QualityReportSchema, type QualityReport } from "../../../shared/quality.js";
import { selectCheckpoint, type ScoredCheckpoint } from "./best-checkpoint.js";

function scored(step: number, subjectFidelity: number, promptFidelity: number): ScoredCheckpoint {
  const report: QualityReport = QualityReportSchema.parse({
    version: 1,
    base_model: "tiny-emoji",
    subject: { identifier: "sks", class_noun: "dog" },
    subject_fidelity: subjectFidelity,
    prompt_fidelity: promptFidelity,
    prior_preservation_similarity: 0.3,
    class_recognized: 0.5,
    diversity: 0.2,
    judge: { name: "test", note: "made up" },
    sampling: { scheduler: "ddim", steps: 20, guidance_scale: 4, seeds: [1] },
    prompts: [],
  });
  return { step, report };
}

describe("best checkpoint", () => {
  it("exports the highest subject fidelity among checkpoints that still follow their prompts", () => {
    // Step 600 is closest to the photos but has stopped following prompts (overfit): it may not win.
    const selected = selectCheckpoint("best", 800, [scored(800, 0.55, 0.9), scored(200, 0.4, 1), scored(400, 0.6, 0.85), scored(600, 0.7, 0.5)]);
    expect(selected.step).toBe(400);
    expect(selected.reason).toMatch(/highest subject fidelity \(0\.600\) among the 3 of 4/);
    expect(selected.candidates.map((candidate) => candidate.step)).toEqual([200, 400, 600, 800]);
    expect(SelectedCheckpointSchema.safeParse(selected).success).toBe(true);
  });

  it("keeps the last step when it is the best", () => {
    expect(selectCheckpoint("best", 800, [scored(400, 0.5, 1), scored(800, 0.6, 0.8)]).step).toBe(800);
  });

  it("prefers the later step on a tie", () => {
    expect(selectCheckpoint("best", 800, [scored(400, 0.5, 1), scored(800, 0.5, 1)]).step).toBe(800);
  });

  it("falls back to the last step when no checkpoint keeps prompt fidelity ≥ 0.8, and says so", () => {
    const selected = selectCheckpoint("best", 800, [scored(400, 0.7, 0.79), scored(800, 0.8, 0.5)]);
    expect(selected).toMatchObject({ step: 800, reason: expect.stringMatching(/no checkpoint kept prompt fidelity ≥ 0\.8/) });
  });

  it("exports the last step without comparing when nothing was scored, only the last step was, or the client asked for it", () => {
    expect(selectCheckpoint("best", 800, [])).toMatchObject({ step: 800, candidates: [], reason: expect.stringMatching(/no judge/) });
    expect(selectCheckpoint("best", 800, [scored(800, 0.5, 1)]).reason).toMatch(/no checkpoint before the last step/);
    expect(selectCheckpoint("last", 800, [])).toEqual({ selection: "last", step: 800, reason: 'checkpoint_selection is "last"', candidates: [] });
  });
});
