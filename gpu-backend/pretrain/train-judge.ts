/**
 * `npm run pretrain:judge`: trains the benchmark's judge (src/quality/judge.ts) and reports its
 * accuracy on scenes drawn from another seed. Each step has two halves:
 *   - class scenes (any Noto, OpenMoji or Fluent drawing of one of the 32 classes, colour-jittered and mirrored, on any
 *     background at any size: `drawJudgeClassScene`) for the class, background and size heads — the
 *     CLIP-T analogue, which must name a dog drawn by another vendor;
 *   - identity scenes (any Noto emoji, fresh every step) for the identity head, which must tell all
 *     ~3,800 Noto drawings apart whatever their background, size or blur — the DINO analogue that
 *     subject fidelity reads; they also teach background and size.
 * Half of every half is seen as the base model's VAE returns it (encode → mean → decode), since every
 * image the judge grades comes out of that decoder. Cross-entropy on all heads, AdamW, fixed seed;
 * resumable from its checkpoint (`--work`), with progress and ETA. Run it after `npm run pretrain`.
 * `--init DIR` starts from a trained judge's weights (a fresh optimizer) instead of random ones; the
 * config records it and the time it had taken.
 *
 *   npm run pretrain:judge -- [--steps 4000] [--vae gpu-backend/models/tiny-emoji] [--init DIR]
 *                             [--work .pretrain] [--out gpu-backend/models/tiny-emoji/judge]
 */
import { access, mkdir } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { restoreCheckpoint, writeCheckpoint } from "../src/dreambooth/checkpoint.js";
import { pixelsBatch, type Pixels } from "../src/dreambooth/images.js";
import { learningRateAt } from "../src/dreambooth/lr-schedule.js";
import { adamWStep, createAdamWState } from "../src/dreambooth/optimizer.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS } from "../src/emoji/catalog.js";
import { drawCodecScene, vendorEmojiFiles, type CodecScene } from "../src/emoji/codec-scenes.js";
import { renderScene } from "../src/emoji/compose.js";
import { drawJudgeClassScene, JUDGE_CLASS_VENDORS, judgeScenes } from "../src/emoji/judge-scenes.js";
import { loadStableDiffusionPipeline } from "../src/model/pipeline.js";
import { setTrainable } from "../src/model/params.js";
import { Judge, type JudgeConfig } from "../src/quality/judge.js";
import { loadJudge, saveJudge } from "../src/quality/judge-files.js";
import { accuracy, argmaxRows } from "../src/quality/metrics.js";
import { vaeRoundTrip } from "../src/quality/vae-round-trip.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { Random } from "../src/tensor/random.js";
import { Progress, sittingClock } from "./progress.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "4000" },
    /** A judge folder to start from (same config); training continues from its weights. */
    init: { type: "string" },
    /** A diffusers folder whose VAE round-trips half of every batch (the generator's look). */
    vae: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    seed: { type: "string", default: "7" },
    /** Peak learning rate (cosine schedule after a 30-step warm-up); lower it when starting from `--init`. */
    lr: { type: "string", default: "3e-3" },
    work: { type: "string", default: ".pretrain" },
    out: { type: "string", default: "gpu-backend/models/tiny-emoji/judge" },
  },
});
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const seed = Number(values.seed);
const steps = Number(values.steps);
const HALF = 32;
const exists = (file: string) => access(file).then(() => true, () => false);
const vae = (await loadStableDiffusionPipeline(values.vae!)).vae;

const validation = judgeScenes(seed + 1, 1);
const render = (scenes: { scene: CodecScene["scene"] }[]) => Promise.all(scenes.map(({ scene }) => renderScene(scene)));
const validationDrawn = await render(validation);

const identities = vendorEmojiFiles("google");
const config: JudgeConfig = { classes: EMOJI_CLASSES.map((entry) => entry.noun), backgrounds: BACKGROUND_NAMES, sizes: SIZE_WORDS, channels: [32, 64, 128, 128], identities, embeddingSize: 128 };
const init = values.init ? await loadJudge(path.resolve(values.init)) : undefined;
if (init && JSON.stringify({ ...config, training: undefined }) !== JSON.stringify({ ...init.config, training: undefined })) {
  throw new Error(`--init ${values.init}: its config differs from the judge this stage trains`);
}
/** What the starting judge had been trained for, as its config says. */
const initTraining = (init?.config as { training?: { steps?: number; seconds?: number; classScenes?: string; init?: unknown } } | undefined)?.training;
/** The starting judge and, through its own `init`, the whole chain of runs behind it (the card lists them). */
const initFacts = init
  ? { from: values.init, steps: initTraining?.steps, seconds: initTraining?.seconds, classScenes: initTraining?.classScenes, ...(initTraining?.init ? { init: initTraining.init } : {}) }
  : undefined;
const judge = init ?? new Judge(config, { kind: "random", seed });
setTrainable(judge.params, true);
const variables = new Map([...judge.params.params].map(([name, { variable }]) => [name, variable]));
const optimizer = createAdamWState(variables);
const checkpointFile = path.join(path.resolve(values.work!), "judge-checkpoint.safetensors");
const fingerprint = JSON.stringify({ stage: "judge", seed, config: { ...config, identities: identities.length }, classScenes: `jittered-drawings:${JUDGE_CLASS_VENDORS.join("+")}`, init: values.init, lr: values.lr, vae: values.vae });
let random = new Random(seed);
let step = 0;
let secondsBefore = 0;
if (await exists(checkpointFile)) {
  const facts = await restoreCheckpoint(checkpointFile, variables, optimizer, fingerprint);
  [step, random, secondsBefore] = [facts.step, new Random(facts.random), facts.seconds ?? 0];
  console.error(`judge: resumed at step ${step} of ${steps}`);
}
await mkdir(path.dirname(checkpointFile), { recursive: true });

const crossEntropy = (logits: tf.Tensor2D, labels: number[]) =>
  tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(labels, "int32"), logits.shape[1])), 1)));
const progress = new Progress("judge", steps, step, 25);
// Training time over every sitting, carried in the checkpoints (the card quotes it).
const seconds = sittingClock(secondsBefore);
while (step < steps) {
  const picks = Array.from({ length: HALF }, () => drawJudgeClassScene(random));
  const drawn = Array.from({ length: HALF }, () => drawCodecScene(random, "google"));
  const [classRendered, rendered] = [await render(picks), await render(drawn)];
  const asGenerated = (images: Pixels[]) => [...images.slice(0, HALF / 2), ...vaeRoundTrip(vae, images.slice(HALF / 2))];
  const images: Pixels[] = [...asGenerated(classRendered), ...asGenerated(rendered)];
  const { value, grads } = tf.variableGrads(() => {
    const out = judge.forward(pixelsBatch(images));
    const firstHalf = (logits: tf.Tensor2D) => tf.slice(logits, [0, 0], [HALF, -1]) as tf.Tensor2D;
    const secondHalf = (logits: tf.Tensor2D) => tf.slice(logits, [HALF, 0], [HALF, -1]) as tf.Tensor2D;
    return tf.addN([
      crossEntropy(firstHalf(out.classLogits), picks.map((s) => s.classIndex)),
      crossEntropy(out.backgroundLogits, [...picks, ...drawn].map((s) => s.backgroundIndex)),
      crossEntropy(out.sizeLogits, [...picks, ...drawn].map((s) => s.sizeIndex)),
      crossEntropy(secondHalf(out.identityLogits!), drawn.map((s) => s.identity)),
    ]) as tf.Scalar;
  }, [...variables.values()]);
  const named = new Map([...variables].map(([key, variable]) => [key, grads[variable.name]]));
  const schedule = { kind: "cosine" as const, baseLr: Number(values.lr), warmupSteps: 30, totalSteps: steps };
  adamWStep(variables, named, optimizer, learningRateAt(schedule, step), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-4 });
  step += 1;
  progress.update(step, value.dataSync()[0]);
  tf.dispose([value, ...Object.values(grads)]);
  if (step % 50 === 0 || step === steps) await writeCheckpoint(checkpointFile, variables, optimizer, { step, random: random.state(), fingerprint, seconds: seconds(), momentDtype: "BF16" });
}
const trainingSeconds = seconds();

/** Each head's predictions for the images, in chunks. */
function predict(images: Pixels[]) {
  const predicted = { class: [] as number[], background: [] as number[], size: [] as number[], identity: [] as number[] };
  for (let start = 0; start < images.length; start += 128) {
    const out = judge.forward(pixelsBatch(images.slice(start, start + 128)));
    predicted.class.push(...argmaxRows(out.classLogits.dataSync(), EMOJI_CLASSES.length));
    predicted.background.push(...argmaxRows(out.backgroundLogits.dataSync(), BACKGROUND_NAMES.length));
    predicted.size.push(...argmaxRows(out.sizeLogits.dataSync(), SIZE_WORDS.length));
    predicted.identity.push(...argmaxRows(out.identityLogits!.dataSync(), identities.length));
    tf.dispose(Object.values(out));
  }
  return predicted;
}
const classHeads = (images: Pixels[]) => {
  const predicted = predict(images);
  return {
    class: accuracy(predicted.class, validation.map((scene) => scene.classIndex)),
    background: accuracy(predicted.background, validation.map((scene) => scene.backgroundIndex)),
    size: accuracy(predicted.size, validation.map((scene) => scene.sizeIndex)),
  };
};
const identityValidation = Array.from({ length: 1024 }, ((generator) => () => drawCodecScene(generator, "google"))(new Random(seed + 2)));
const identityDrawn = await render(identityValidation);
const identityHead = (images: Pixels[]) => accuracy(predict(images).identity, identityValidation.map((scene) => scene.identity));
const facts = {
  command: ["npm run pretrain:judge --", ...process.argv.slice(2)].join(" "),
  seed,
  steps,
  seconds: trainingSeconds,
  classScenes: `any drawing of a class by ${JUDGE_CLASS_VENDORS.join(" or ")}, colour-jittered, mirrored half the time`,
  ...(initFacts ? { init: initFacts } : {}),
  identities: identities.length,
  validationAccuracy: classHeads(validationDrawn),
  /** The same validation scenes after a VAE round trip: the most a generated image can score. */
  validationAccuracyVaeRoundTrip: classHeads(vaeRoundTrip(vae, validationDrawn)),
  /** Identity head: 1,024 fresh scenes of random Noto emoji (top-1 among all of them), as drawn and round-tripped. */
  identityAccuracy: identityHead(identityDrawn),
  identityAccuracyVaeRoundTrip: identityHead(vaeRoundTrip(vae, identityDrawn)),
  vae: path.basename(path.resolve(values.vae!)),
  finalLoss: progress.smoothedLoss,
};
console.log(JSON.stringify(facts, null, 2));
await saveJudge(judge, path.resolve(values.out!), facts);
