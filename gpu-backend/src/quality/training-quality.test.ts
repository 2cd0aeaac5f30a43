import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUALITY_REPORT_NAME, QualityReportSchema } from "../../../shared/quality.js";
import { loadBaseModel, type BaseModel } from "../dreambooth/base-model.js";
import { renderScene } from "../emoji/compose.js";
import { drawScene } from "../emoji/scenes.js";
import { ensureTinyRandomModel } from "../model/tiny-random-model.js";
import { initTensorBackend } from "../tensor/backend.js";
import { Random } from "../tensor/random.js";
import { Judge } from "./judge.js";
import { saveJudge } from "./judge-files.js";
import { qualityReportArtifact, trainingQuality } from "./training-quality.js";

describe("training quality report", () => {
  let dir: string;
  let model: BaseModel;
  beforeAll(async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    dir = await mkdtemp(path.join(tmpdir(), "quality-"));
    model = await loadBaseModel(await ensureTinyRandomModel(dir), "tiny-random");
  });
  afterAll(async () => {
    for (const network of [model.unet, model.vae, model.textEncoder]) network.params.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const photos = async () => {
    const random = new Random(1);
    return Promise.all(["green", "white", "pink"].map((background) => renderScene(drawScene(random, "twitter", "1f436.png", background, ""))));
  };

  it("is absent for a base model without a judge", async () => {
    expect(await trainingQuality(model, await photos(), { identifier: "sks", class_noun: "dog" })).toBeUndefined();
  });

  it("grades the subject with the model folder's judge: a schema-valid report under reports/quality.json", async () => {
    const judge = new Judge({ classes: ["cat", "dog"], backgrounds: ["red", "blue", "yellow", "green"], sizes: ["small", "", "big"], channels: [8, 8, 8, 8] }, { kind: "random", seed: 3 });
    await saveJudge(judge, path.join(model.directory, "judge"), { note: "random, for the test" });
    // Two seeds and two denoising steps: the report's shape and wiring, not the quality of a random model.
    const quick = { seeds: [1, 2], steps: 2, guidanceScale: 2, scheduler: "ddim" as const, backgrounds: ["red", "blue", "yellow"] };
    const graded = await trainingQuality(model, await photos(), { identifier: "sks", class_noun: "dog" }, quick);
    const artifact = qualityReportArtifact(graded!);
    expect(artifact.name).toBe(QUALITY_REPORT_NAME);
    expect(artifact.format).toBe("report");
    const report = QualityReportSchema.parse(JSON.parse(new TextDecoder().decode(artifact.bytes)));
    expect(report).toEqual(graded);
    expect(report.subject).toEqual({ identifier: "sks", class_noun: "dog" });
    expect(report.prompts.map((p) => p.prompt)).toEqual([
      "a sks dog on a red background",
      "a sks dog on a blue background",
      "a sks dog on a yellow background",
      "a small sks dog",
      "a big sks dog",
      "a dog",
    ]);
    expect(report.prior_preservation_similarity).toBe(report.prompts[5].subject_fidelity);
    // dog is a class the emoji set draws and there are three photos: the bounds are measured and the score read between them.
    const bounds = report.fidelity_bounds!;
    expect(bounds.ceiling).toBeGreaterThan(bounds.prior);
    expect(report.subject_fidelity_normalized).toBeCloseTo((report.subject_fidelity - bounds.prior) / (bounds.ceiling - bounds.prior), 10);
    expect(artifact?.meta?.subject_fidelity_normalized).toBe(report.subject_fidelity_normalized);
    // Unknown classes are not graded rather than graded against the wrong label.
    expect(await trainingQuality(model, await photos(), { identifier: "sks", class_noun: "teapot" }, quick)).toBeUndefined();
  });
});
