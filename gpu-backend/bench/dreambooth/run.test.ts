/**
 * The regression test of DreamBooth's point on the embedded model: a short full fine-tune on a
 * subject's photos makes the instance prompts' renders clearly more like that subject than the
 * untrained base model's, on the normalised subject fidelity the benchmark reports.
 *
 * It needs a judge that can tell the subject from its class (an identity head, tiny-emoji v2); with the
 * v1 judge no short fine-tune got there, so the test skips, loudly, for a model without one. 400 steps
 * (600 until 2026-12-03, cut to shorten npm test) took 103 s beside a judge training and moved the dog
 * from −2.14 (base) to −0.41 normalised with judge v3: a margin of 1.7 against the 0.3 asked. Since the
 * identifier stage the base no longer breaks on "sks" (−0.59 with judge v5), so the margin is the training's
 * own: −0.59 → −0.03 in 80 s alone, 0.56 against the 0.3 asked.
 */
import { readFileSync } from "node:fs";
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
const judgeHasIdentityHead = "identities" in JSON.parse(readFileSync(`${MODEL_DIR}/judge/config.json`, "utf8"));

describe.skipIf(!judgeHasIdentityHead)("DreamBooth on the embedded model (needs a judge with an identity head)", () => {
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
    const trained = (await benchmarkRun(input, { label: "full", method: "full", priorWeight: 0, learningRate: 2e-4, steps: 400, seed: 1, trainTextEncoder: false }, evaluation, "tiny-emoji")).report;
    expect(trained.fidelity_bounds).toEqual(base.fidelity_bounds);
    expect(trained.subject_fidelity_normalized! - base.subject_fidelity_normalized!, `base ${base.subject_fidelity_normalized}, trained ${trained.subject_fidelity_normalized}`).toBeGreaterThan(0.3);
  }, 480_000);
});
