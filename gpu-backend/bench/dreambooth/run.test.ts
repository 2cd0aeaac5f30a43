/**
 * The regression test of DreamBooth's point on the embedded model: a short full fine-tune on a
 * subject's photos makes the instance prompts' renders clearly more like that subject than the
 * untrained base model's, on the normalised subject fidelity the benchmark reports.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeStableDiffusion, loadStableDiffusionPipeline, type StableDiffusion } from "../../src/model/pipeline.js";
import type { Judge } from "../../src/quality/judge.js";
import { loadJudge } from "../../src/quality/judge-files.js";
import { DEFAULT_EVALUATION } from "../../src/quality/subject-report.js";
import { initTensorBackend } from "../../src/tensor/backend.js";
import { benchmarkRun } from "./run.js";
import { benchSubject } from "./subjects.js";

const MODEL_DIR = fileURLToPath(new URL("../../models/tiny-emoji", import.meta.url));
const STEPS = Number(process.env.REGRESSION_STEPS ?? 300);

describe("DreamBooth on the embedded model", () => {
  let model: StableDiffusion;
  let judge: Judge;
  beforeAll(async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    model = await loadStableDiffusionPipeline(MODEL_DIR);
    judge = await loadJudge(`${MODEL_DIR}/judge`);
  });
  afterAll(() => disposeStableDiffusion(model));

  it("a short full fine-tune renders the subject clearly closer than the base model does", async () => {
    const subject = await benchSubject("dog", 4, 100);
    const input = { model, judge, photos: subject.photos, classImages: [], identifier: "sks", classNoun: "dog" };
    const evaluation = { ...DEFAULT_EVALUATION, seeds: [11, 12] };
    const base = (await benchmarkRun(input, undefined, evaluation, "tiny-emoji")).report;
    const started = Date.now();
    const trained = (await benchmarkRun(input, { label: "full", method: "full", priorWeight: 0, learningRate: 2e-4, steps: STEPS, seed: 1 }, evaluation, "tiny-emoji")).report;
    console.error(JSON.stringify({ steps: STEPS, seconds: (Date.now() - started) / 1000, bounds: base.fidelity_bounds, base: [base.subject_fidelity, base.subject_fidelity_normalized], trained: [trained.subject_fidelity, trained.subject_fidelity_normalized] }));
    expect(trained.fidelity_bounds).toEqual(base.fidelity_bounds);
    expect(trained.subject_fidelity_normalized! - base.subject_fidelity_normalized!).toBeGreaterThan(0.3);
  }, 240_000);
});
