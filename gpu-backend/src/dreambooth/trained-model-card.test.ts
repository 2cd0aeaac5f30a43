import { describe, expect, it } from "vitest";
import { resolveTrainingParams, TrainingParamsSchema } from "../../../shared/params.js";
import type { QualityReport } from "../../../shared/quality.js";
import { trainedModelCard, type TrainedModelFacts } from "./trained-model-card.js";

const subject = { identifier: "zjq", class_noun: "dog" };
const params = resolveTrainingParams(TrainingParamsSchema.parse({ method: "full", steps: 800, learning_rate: 2e-4 }), subject, { resolution: 32 }, 7);
const facts: TrainedModelFacts = {
  baseModel: "tiny-emoji",
  subject,
  params,
  photos: 4,
  quality: undefined,
  selected: { selection: "best", step: 600, reason: "highest subject fidelity (0.612) among the 2 of 3 scored checkpoints", candidates: [] },
};

describe("the trained model's card", () => {
  it("names the subject, the base model, the parameters and the exported step with its reason", () => {
    const card = trainedModelCard(facts);
    expect(card.startsWith("---\nlibrary_name: diffusers\n")).toBe(true);
    expect(card).toContain('instance_prompt: "a photo of zjq dog"');
    expect(card).toContain('# DreamBooth: "zjq dog" on tiny-emoji');
    expect(card).toContain("on 4 photos of one dog");
    expect(card).toContain("| steps | 800, batch 1, 32 px |");
    expect(card).toContain("| exported step | 600 (highest subject fidelity (0.612) among the 2 of 3 scored checkpoints) |");
    expect(card).toContain('| prior preservation | λ = 1, 200 images of "a photo of dog" |');
    expect(card).toContain(JSON.stringify(params, null, 2));
    expect(card).toContain("Not measured");
  });

  it("carries the training's quality report when there is one", () => {
    const quality = { subject_fidelity: 0.6123, prompt_fidelity: 0.889, prior_preservation_similarity: 0.3, class_recognized: 0.5, diversity: 0.21, judge: { name: "tiny-emoji judge", note: "a CNN" } } as QualityReport;
    const card = trainedModelCard({ ...facts, quality });
    expect(card).toContain("| subject fidelity ↑ | 0.612 |");
    expect(card).toContain("| prompt fidelity ↑ | 88.9 % |");
    expect(card).not.toContain("Not measured");
  });
});
