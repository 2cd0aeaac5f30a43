/**
 * `npm run pretrain:judge`: trains the benchmark's judge (src/quality/judge.ts) on labelled scenes,
 * as drawn and as the base model's VAE returns them, and reports its accuracy on scenes drawn from
 * another seed (and on their VAE round trips). Cross-entropy on the three heads, AdamW, fixed seed;
 * about ten CPU minutes. Run it after `npm run pretrain` (it needs the model's VAE).
 *
 *   npm run pretrain:judge -- [--steps 3000] [--per-combination 6] [--vae gpu-backend/models/tiny-emoji] [--out gpu-backend/models/tiny-emoji/judge]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { learningRateAt } from "../src/dreambooth/lr-schedule.js";
import { adamWStep, createAdamWState } from "../src/dreambooth/optimizer.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS } from "../src/emoji/catalog.js";
import { renderScene } from "../src/emoji/compose.js";
import { judgeScenes, type LabelledScene } from "../src/emoji/judge-scenes.js";
import { setTrainable } from "../src/model/params.js";
import { Judge } from "../src/quality/judge.js";
import { saveJudge } from "../src/quality/judge-files.js";
import { accuracy, argmaxRows } from "../src/quality/metrics.js";
import { loadStableDiffusionPipeline } from "../src/model/pipeline.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { concatenate } from "../src/tensor/concatenate.js";
import { Random } from "../src/tensor/random.js";
import { Progress } from "./progress.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "3000" },
    "per-combination": { type: "string", default: "6" },
    /** A diffusers folder whose VAE round-trips every training scene into a second, blurred copy (the generator's look). */
    vae: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    seed: { type: "string", default: "7" },
    out: { type: "string", default: "gpu-backend/models/tiny-emoji/judge" },
  },
});
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const seed = Number(values.seed);
const steps = Number(values.steps);

async function render(scenes: LabelledScene[]) {
  const images: Float32Array[] = [];
  for (const { scene } of scenes) images.push((await renderScene(scene)).data);
  return images;
}
const train = judgeScenes(seed, Number(values["per-combination"]));
const validation = judgeScenes(seed + 1, 1);
const sharpTrainImages = await render(train);
const validationImages = await render(validation);

/**
 * Every image the benchmark grades was decoded by the base model's VAE, which blurs small emoji. The
 * judge learns from each scene twice, as drawn and as the VAE gives it back (encode → mean → decode),
 * so it names what a decoded image shows instead of failing on blur it never saw. Its accuracy on
 * VAE round-trips is also the ceiling for any generated image.
 */
const vae = (await loadStableDiffusionPipeline(values.vae!)).vae;
function roundTrip(images: Float32Array[]): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start < images.length; start += 64) {
    const chunk = images.slice(start, start + 64);
    const decoded = tf.tidy(() => tf.clipByValue(vae.decode(vae.encode(tf.tensor4d(concatenate(chunk), [chunk.length, 32, 32, 3])).mean), -1, 1));
    const values = decoded.dataSync() as Float32Array;
    decoded.dispose();
    for (let i = 0; i < chunk.length; i++) out.push(values.slice(i * 3072, (i + 1) * 3072));
  }
  return out;
}
const trainImages = [...sharpTrainImages, ...roundTrip(sharpTrainImages)];
const labelOf = (i: number) => train[i % train.length];
const validationRoundTrips = roundTrip(validationImages);

const judge = new Judge(
  { classes: EMOJI_CLASSES.map((entry) => entry.noun), backgrounds: BACKGROUND_NAMES, sizes: SIZE_WORDS, channels: [16, 32, 64, 64] },
  { kind: "random", seed },
);
setTrainable(judge.params, true);
const variables = new Map([...judge.params.params].map(([name, { variable }]) => [name, variable]));
const optimizer = createAdamWState(variables);
const random = new Random(seed);
const crossEntropy = (logits: tf.Tensor2D, labels: number[]) =>
  tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(labels, "int32"), logits.shape[1])), 1)));
const progress = new Progress("judge", steps, 0, 25);
for (let step = 0; step < steps; step++) {
  const picks = Array.from({ length: 32 }, () => random.integer(trainImages.length));
  const { value, grads } = tf.variableGrads(() => {
    const out = judge.forward(tf.tensor4d(concatenate(picks.map((i) => trainImages[i])), [picks.length, 32, 32, 3]));
    return tf.addN([
      crossEntropy(out.classLogits, picks.map((i) => labelOf(i).classIndex)),
      crossEntropy(out.backgroundLogits, picks.map((i) => labelOf(i).backgroundIndex)),
      crossEntropy(out.sizeLogits, picks.map((i) => labelOf(i).sizeIndex)),
    ]) as tf.Scalar;
  }, [...variables.values()]);
  const named = new Map([...variables].map(([key, variable]) => [key, grads[variable.name]]));
  adamWStep(variables, named, optimizer, learningRateAt({ kind: "cosine", baseLr: 3e-3, warmupSteps: 30, totalSteps: steps }, step), {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 1e-4,
  });
  progress.update(step + 1, value.dataSync()[0]);
  tf.dispose([value, ...Object.values(grads)]);
}

function validate(images: Float32Array[]) {
  const predictions = { classes: [] as number[], backgrounds: [] as number[], sizes: [] as number[] };
  for (let start = 0; start < images.length; start += 128) {
    const chunk = images.slice(start, start + 128);
    const out = judge.forward(tf.tensor4d(concatenate(chunk), [chunk.length, 32, 32, 3]));
    predictions.classes.push(...argmaxRows(out.classLogits.dataSync(), EMOJI_CLASSES.length));
    predictions.backgrounds.push(...argmaxRows(out.backgroundLogits.dataSync(), BACKGROUND_NAMES.length));
    predictions.sizes.push(...argmaxRows(out.sizeLogits.dataSync(), SIZE_WORDS.length));
    tf.dispose(Object.values(out));
  }
  return {
    class: accuracy(predictions.classes, validation.map((s) => s.classIndex)),
    background: accuracy(predictions.backgrounds, validation.map((s) => s.backgroundIndex)),
    size: accuracy(predictions.sizes, validation.map((s) => s.sizeIndex)),
  };
}
const facts = {
  seed,
  steps,
  trainImages: trainImages.length,
  validationImages: validation.length,
  validationAccuracy: validate(validationImages),
  /** The same validation scenes after a VAE round trip: the most a generated image can score. */
  validationAccuracyVaeRoundTrip: validate(validationRoundTrips),
  vae: path.basename(path.resolve(values.vae!)),
  finalLoss: progress.smoothedLoss,
};
console.log(JSON.stringify(facts, null, 2));
await saveJudge(judge, path.resolve(values.out!), facts);
