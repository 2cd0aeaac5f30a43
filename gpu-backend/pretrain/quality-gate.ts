/**
 * `npm run pretrain:gate`: the base model's quality gate. Renders every class on the background it
 * never saw it on in pretraining ("a dog on a red background", …) and lets the judge name the class
 * and the background of each image; accuracy far above chance (1/32 classes, 1/8 backgrounds) means
 * the prompts steer the model, including in combinations it has not seen. As controls it also scores
 * each class on a background it was trained on and the class named alone. It also measures the codec
 * on held-out Twemoji (codec-gate.ts) against the previous VAE — `--baseline-vae DIR` measured now, or
 * else the number recorded in codec-baseline.json — then prints the verdicts of gates.ts and exits 1
 * if any fails. Writes `quality-gate.json` and `quality-gate.png` into the model folder (the card
 * quotes them). `--write-baseline` only measures the model's codec and records it as the baseline.
 *
 *   npm run pretrain:gate -- [--model gpu-backend/models/tiny-emoji] [--seeds 3] [--baseline-vae DIR] [--write-baseline]
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { pixelsBatch, type Pixels } from "../src/dreambooth/images.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES } from "../src/emoji/catalog.js";
import { caption, heldOutPrompts, seenPrompts } from "../src/emoji/scenes.js";
import { loadStableDiffusionPipeline } from "../src/model/pipeline.js";
import { renderBatch } from "../src/quality/batch-render.js";
import { loadJudge } from "../src/quality/judge-files.js";
import { accuracy, argmaxRows } from "../src/quality/metrics.js";
import { DEFAULT_EVALUATION } from "../src/quality/subject-report.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { contactSheet } from "../bench/dreambooth/contact-sheet.js";
import { CODEC_GATE_SCENES, twemojiClassAccuracyAfterRoundTrip, twemojiRoundTripPsnr } from "./codec-gate.js";
import { gateVerdicts } from "./gates.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    seeds: { type: "string", default: "3" },
    "baseline-vae": { type: "string" },
    "write-baseline": { type: "boolean", default: false },
  },
});
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const model = await loadStableDiffusionPipeline(values.model!);
const baselineFile = fileURLToPath(new URL("codec-baseline.json", import.meta.url));
const roundTripPsnr = await twemojiRoundTripPsnr(model.vae);
if (values["write-baseline"]) {
  const baseline = { model: path.basename(path.resolve(values.model!)), psnr: roundTripPsnr, scenes: CODEC_GATE_SCENES, measured: new Date().toISOString() };
  await writeFile(baselineFile, `${JSON.stringify(baseline, null, 2)}\n`);
  console.log(JSON.stringify(baseline, null, 2));
  process.exit(0);
}
const baselineRoundTripPsnr = values["baseline-vae"]
  ? await twemojiRoundTripPsnr((await loadStableDiffusionPipeline(values["baseline-vae"])).vae)
  : (JSON.parse(await readFile(baselineFile, "utf8")) as { psnr: number }).psnr;
const judge = await loadJudge(path.join(values.model!, "judge"));
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => 900 + i);

/** Renders every prompt with every seed and lets the judge name class and background; undefined background = not asked. */
function score(prompts: { caption: string; classIndex: number; background?: string }[]) {
  const requests = prompts.flatMap((prompt) => seeds.map((seed) => ({ prompt: prompt.caption, seed })));
  const images: Pixels[] = [];
  for (let start = 0; start < requests.length; start += 24) {
    images.push(...renderBatch(model, { ...DEFAULT_EVALUATION, requests: requests.slice(start, start + 24), resolution: 32 }));
  }
  const predictions = tf.tidy(() => {
    const out = judge.forward(pixelsBatch(images));
    return {
      classes: argmaxRows(out.classLogits.dataSync(), judge.config.classes.length),
      backgrounds: argmaxRows(out.backgroundLogits.dataSync(), judge.config.backgrounds.length),
    };
  });
  const expectedClasses = prompts.flatMap((prompt) => seeds.map(() => prompt.classIndex));
  const withBackground = prompts.every((prompt) => prompt.background);
  const expectedBackgrounds = prompts.flatMap((prompt) => seeds.map(() => BACKGROUND_NAMES.indexOf(prompt.background ?? "")));
  return {
    images,
    classAccuracy: accuracy(predictions.classes, expectedClasses),
    ...(withBackground ? { backgroundAccuracy: accuracy(predictions.backgrounds, expectedBackgrounds) } : {}),
  };
}

const heldOut = score(heldOutPrompts());
const seen = score(seenPrompts());
const classOnly = score(EMOJI_CLASSES.map(({ noun }, classIndex) => ({ caption: caption(noun, { photo: true }), classIndex })));
const twemojiClassAfterRoundTrip = await twemojiClassAccuracyAfterRoundTrip(model.vae, judge);
const verdicts = gateVerdicts({
  roundTripPsnr,
  baselineRoundTripPsnr,
  twemojiClassAfterRoundTrip,
  heldOutPairClass: heldOut.classAccuracy,
  classPhotoRecognised: classOnly.classAccuracy,
});
const gate = {
  codec: { roundTripPsnr, baselineRoundTripPsnr, twemojiClassAfterRoundTrip, scenes: CODEC_GATE_SCENES },
  verdicts,
  prompts: EMOJI_CLASSES.length,
  imagesPerPrompt: seeds.length,
  sampling: { scheduler: DEFAULT_EVALUATION.scheduler, steps: DEFAULT_EVALUATION.steps, guidance_scale: DEFAULT_EVALUATION.guidanceScale },
  classChance: 1 / judge.config.classes.length,
  backgroundChance: 1 / judge.config.backgrounds.length,
  // The gate proper: class × background pairs never seen in pretraining.
  classAccuracy: heldOut.classAccuracy,
  backgroundAccuracy: heldOut.backgroundAccuracy,
  // Controls: pairs seen in pretraining, and the class named alone ("a photo of a dog").
  seen: { classAccuracy: seen.classAccuracy, backgroundAccuracy: seen.backgroundAccuracy },
  classOnly: { classAccuracy: classOnly.classAccuracy },
};
console.log(JSON.stringify(gate, null, 2));
for (const verdict of verdicts) console.log(`${verdict.pass ? "PASS" : "FAIL"}  ${verdict.gate}: ${verdict.value.toFixed(3)} (needs ≥ ${verdict.threshold})`);
await writeFile(path.join(values.model!, "quality-gate.json"), `${JSON.stringify(gate, null, 2)}\n`);
// One row per class (the first 16): held-out background, seen background, class alone; one column per seed.
const n = seeds.length;
const rows = EMOJI_CLASSES.slice(0, 16).map((_, p) => [heldOut, seen, classOnly].flatMap((set) => set.images.slice(p * n, (p + 1) * n)));
await writeFile(path.join(values.model!, "quality-gate.png"), await contactSheet(rows));
if (verdicts.some((verdict) => !verdict.pass)) process.exitCode = 1;
