/**
 * `npm run pretrain:gate`: the base model's quality gate. Renders every class on the background it
 * never saw it on in pretraining ("a dog on a red background", …) and lets the judge name the class
 * and the background of each image; accuracy far above chance (1/32 classes, 1/8 backgrounds) means
 * the prompts steer the model, including in combinations it has not seen. Writes `quality-gate.json`
 * into the model folder (the model card quotes it).
 *
 *   npm run pretrain:gate -- [--model gpu-backend/models/tiny-emoji] [--seeds 3]
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import type { Pixels } from "../src/dreambooth/images.js";
import { BACKGROUND_NAMES } from "../src/emoji/catalog.js";
import { heldOutPrompts } from "../src/emoji/scenes.js";
import { loadStableDiffusionPipeline } from "../src/model/pipeline.js";
import { renderBatch } from "../src/quality/batch-render.js";
import { loadJudge } from "../src/quality/judge-files.js";
import { accuracy, argmaxRows } from "../src/quality/metrics.js";
import { DEFAULT_EVALUATION } from "../src/quality/subject-report.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { contactSheet } from "../bench/dreambooth/contact-sheet.js";

const { values } = parseArgs({ options: { model: { type: "string", default: "gpu-backend/models/tiny-emoji" }, seeds: { type: "string", default: "3" } } });
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const model = await loadStableDiffusionPipeline(values.model!);
const judge = await loadJudge(path.join(values.model!, "judge"));
const prompts = heldOutPrompts();
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => 900 + i);
const requests = prompts.flatMap((prompt) => seeds.map((seed) => ({ prompt: prompt.caption, seed })));
const images: Pixels[] = [];
for (let start = 0; start < requests.length; start += 24) {
  images.push(...renderBatch(model, { ...DEFAULT_EVALUATION, requests: requests.slice(start, start + 24), resolution: 32 }));
}
const predictions = tf.tidy(() => {
  const out = judge.forward(tf.tensor4d(Float32Array.from(images.flatMap((image) => [...image.data])), [images.length, 32, 32, 3]));
  return {
    classes: argmaxRows(out.classLogits.dataSync(), judge.config.classes.length),
    backgrounds: argmaxRows(out.backgroundLogits.dataSync(), judge.config.backgrounds.length),
  };
});
const expectedClasses = prompts.flatMap((prompt) => seeds.map(() => prompt.classIndex));
const expectedBackgrounds = prompts.flatMap((prompt) => seeds.map(() => BACKGROUND_NAMES.indexOf(prompt.background)));
const gate = {
  prompts: prompts.length,
  imagesPerPrompt: seeds.length,
  sampling: { scheduler: DEFAULT_EVALUATION.scheduler, steps: DEFAULT_EVALUATION.steps, guidance_scale: DEFAULT_EVALUATION.guidanceScale },
  classAccuracy: accuracy(predictions.classes, expectedClasses),
  classChance: 1 / judge.config.classes.length,
  backgroundAccuracy: accuracy(predictions.backgrounds, expectedBackgrounds),
  backgroundChance: 1 / judge.config.backgrounds.length,
};
console.log(JSON.stringify(gate, null, 2));
await writeFile(path.join(values.model!, "quality-gate.json"), `${JSON.stringify(gate, null, 2)}\n`);
const rows = prompts.slice(0, 16).map((_, p) => images.slice(p * seeds.length, (p + 1) * seeds.length));
await writeFile(path.join(values.model!, "quality-gate.png"), await contactSheet(rows));
