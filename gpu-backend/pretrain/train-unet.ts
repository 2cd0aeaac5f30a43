/**
 * Stage 2 of pretraining: UNet and text encoder together, from scratch, on the frozen VAE's latents.
 * This is the DreamBooth trainer doing full fine-tuning with the text encoder on a large "instance"
 * set (every captioned scene) and no prior half — text-to-image pretraining is the same loss. One
 * scene in ten is also given the empty caption, so classifier-free guidance has an unconditional
 * model to push away from. Latents are scaled to unit variance (the VAE's `scaling_factor`, measured
 * here as SD's 0.18215 was). Besides each scene as drawn it learns `jitterCopies` colour-jittered
 * renders of it under the same caption, so "a dog" is a family of drawings and a subject of another
 * palette has a place in the prior. Checkpoints every `checkpointEvery` steps; the model folder is
 * exported every `exportEvery` steps, so a partly trained model is always usable.
 *
 * The identifier stage (`identifiers`) continues the same training from an exported model at a lower
 * learning rate, with a share of the scenes also captioned with a random unknown word before the noun
 * (unknown-words.ts), so that an identifier the model has never seen leaves the class as it is — the
 * rare-token prior DreamBooth starts from. Its checkpoint, losses and facts have files of their own
 * (`unet-identifiers-*`), and training.json keeps the first stage's facts with this one's beside them.
 */
import { access, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { checkpointFacts } from "../src/dreambooth/checkpoint.js";
import { flipHorizontal, pixelsBatch, type Pixels } from "../src/dreambooth/images.js";
import { trainingWorkers } from "../src/dreambooth/replica-pool.js";
import { attachTrainableWeights } from "../src/dreambooth/trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "../src/dreambooth/trainer.js";
import { jitteredCopies, type PretrainingSet } from "../src/emoji/dataset.js";
import { emojiTextConfig, emojiUNetConfig, MAX_CAPTION_TOKENS } from "../src/emoji/model-config.js";
import { ClipTextModel } from "../src/model/clip-text.js";
import { SD15_SCHEDULER_CONFIG, trainingNoiseSchedule } from "../src/model/schedulers/index.js";
import { ClipTokenizer } from "../src/model/tokenizer.js";
import { UNet2DConditionModel } from "../src/model/unet.js";
import type { AutoencoderKL } from "../src/model/vae.js";
import { SafetensorsReader } from "../src/model/safetensors.js";
import { loadWeights } from "../src/model/weights.js";
import { Random } from "../src/tensor/random.js";
import { tidyValues } from "../src/tensor/tidy-values.js";
import { EMOJI_CLASSES } from "../src/emoji/catalog.js";
import { captionWithIdentifier, RESERVED_IDENTIFIERS, unknownWord } from "../src/emoji/unknown-words.js";
import { exportModel } from "./export.js";
import { Progress, sittingClock } from "./progress.js";

export interface UNetStageOptions {
  vae: AutoencoderKL;
  set: PretrainingSet;
  work: string;
  out: string;
  seed: number;
  steps: number;
  batchSize: number;
  checkpointEvery?: number;
  exportEvery?: number;
  /** Colour-jittered copies of every scene, rendered from seed + 5. */
  jitterCopies: number;
  /** The command line of this sitting, recorded for the model card. */
  command: string;
  /** Run the identifier stage instead of the first one. */
  identifiers?: IdentifierStageOptions;
}

export interface IdentifierStageOptions {
  /** The exported model (diffusers folder) whose UNet and text encoder the stage continues. */
  init: string;
  /** The share of scenes (views) that also appear with an unknown word before the noun. */
  share: number;
  /** Peak learning rate of the stage's cosine schedule (warmup 50 steps). */
  baseLr: number;
}

const exists = (file: string) => access(file).then(() => true, () => false);

/** The autoencoder stages' facts (steps, final loss, seconds) as main.ts left them, for training.json. */
async function autoencoderFacts(work: string): Promise<object> {
  const read = async (name: string) => ((await exists(path.join(work, name))) ? JSON.parse(await readFile(path.join(work, name), "utf8")) : undefined);
  return { vae: await read("vae-stage.json"), decoder: await read("vae-decoder-stage.json") };
}

/** Latent means of the images (and their mirror images), [H/4, W/4, C] each, unscaled. */
function encodeAll(vae: AutoencoderKL, images: Pixels[]): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start < images.length; start += 64) {
    const chunk = images.slice(start, start + 64);
    const values = tidyValues(() => vae.encode(pixelsBatch(chunk)).mean);
    const size = values.length / chunk.length;
    for (let i = 0; i < chunk.length; i++) out.push(values.slice(i * size, (i + 1) * size));
  }
  return out;
}

/**
 * Exports the model as the UNet stage's last checkpoint left it, without training: for cutting a
 * pretraining short at any checkpoint (`npm run pretrain -- --only export`), or while it still runs.
 */
export async function exportCheckpoint(options: Pick<UNetStageOptions, "vae" | "set" | "work" | "out">): Promise<void> {
  const { vae, set, work, out } = options;
  const textEncoder = new ClipTextModel(emojiTextConfig(Object.keys(set.vocabulary.vocab).length), { kind: "zeros" });
  const unet = new UNet2DConditionModel(emojiUNetConfig, { kind: "zeros" });
  const reader = await SafetensorsReader.open(path.join(work, "unet-checkpoint.safetensors"));
  try {
    for (const [prefix, store] of [["unet", unet.params], ["text_encoder", textEncoder.params]] as const) {
      for (const [name, { variable }] of store.params) {
        const stored = await reader.read(`param.${prefix}.${name}`);
        variable.assign(tf.tensor(stored.data, variable.shape, "float32"));
      }
    }
    const { step } = checkpointFacts(reader);
    const history = JSON.parse(await readFile(path.join(work, "unet-losses.json"), "utf8")) as { step: number; loss: number; seconds?: number }[];
    const stage = JSON.parse(await readFile(path.join(work, "unet-stage.json"), "utf8")) as object;
    const losses = history.filter((point) => point.step <= step);
    await exportModel(out, { vae, unet, textEncoder }, set.vocabulary, { ...stage, steps: step, seconds: losses.at(-1)?.seconds, losses, ...(await autoencoderFacts(work)) });
  } finally {
    await reader.close();
    unet.params.dispose();
    textEncoder.params.dispose();
  }
}

export async function trainUNet(options: UNetStageOptions): Promise<void> {
  const { vae, set, work, out, seed, steps, batchSize, checkpointEvery = 25, exportEvery = 100, jitterCopies, command, identifiers } = options;
  const name = identifiers ? "unet-identifiers" : "unet";
  const initFacts = identifiers ? (JSON.parse(await readFile(path.join(identifiers.init, "training.json"), "utf8")) as Record<string, unknown>) : undefined;
  const copies = await jitteredCopies(set.scenes, jitterCopies, seed + 5);
  // Scene i's views: index i as drawn, then its copies at i + k·n (k = 1 … jitterCopies).
  const views = [set.images, ...Array.from({ length: jitterCopies }, (_, k) => copies.map((renders) => renders[k]))].flat();
  const plain = encodeAll(vae, views);
  const mirrored = encodeAll(vae, views.map(flipHorizontal));
  const variance = plain.reduce((sum, latent) => sum + latent.reduce((s, v) => s + v * v, 0), 0) / (plain.length * plain[0].length);
  const measured = Number((1 / Math.sqrt(variance)).toPrecision(5));
  // A continued model keeps the latent scale it learned with (the same images measure the same value).
  const scalingFactor = identifiers ? (JSON.parse(await readFile(path.join(identifiers.init, "vae", "config.json"), "utf8")) as { scaling_factor: number }).scaling_factor : measured;
  if (Math.abs(scalingFactor - measured) > 1e-3 * measured) console.error(`${name}: latent scale measured ${measured}, continuing with ${scalingFactor}`);
  vae.config.scaling_factor = scalingFactor;
  const scale = (latent: Float32Array) => latent.map((v) => v * scalingFactor);

  const tokenizer = new ClipTokenizer({
    vocab: set.vocabulary.vocab,
    merges: set.vocabulary.merges.split("\n").slice(1).filter(Boolean),
    maxLength: MAX_CAPTION_TOKENS,
  });
  const instance: TrainingExample[] = views.map((_, i) => ({
    latents: [scale(plain[i]), scale(mirrored[i])],
    tokenIds: Int32Array.from(tokenizer.encode(set.scenes[i % set.scenes.length].caption)),
  }));
  const unconditional = Int32Array.from(tokenizer.encode(""));
  for (let i = 0; i < views.length; i += 10) instance.push({ latents: instance[i].latents, tokenIds: unconditional });
  if (identifiers) {
    const random = new Random(seed + 7);
    const known = (word: string) => set.vocabulary.vocab[`${word}</w>`] !== undefined;
    for (let i = 0; i < views.length; i++) {
      if (random.uniform() >= identifiers.share) continue;
      const { caption, classIndex } = set.scenes[i % set.scenes.length];
      const text = captionWithIdentifier(caption, EMOJI_CLASSES[classIndex].noun, unknownWord(random, known));
      instance.push({ latents: instance[i].latents, tokenIds: Int32Array.from(tokenizer.encode(text)) });
    }
  }

  const textEncoder = new ClipTextModel(emojiTextConfig(Object.keys(set.vocabulary.vocab).length), { kind: "random", seed: seed + 1 });
  const unet = new UNet2DConditionModel(emojiUNetConfig, { kind: "random", seed: seed + 2 });
  if (identifiers) {
    await loadWeights(unet.params, [path.join(identifiers.init, "unet", "diffusion_pytorch_model.safetensors")]);
    await loadWeights(textEncoder.params, [path.join(identifiers.init, "text_encoder", "model.safetensors")]);
  }
  const trainable = attachTrainableWeights({ unet, textEncoder }, { method: "full", lora_rank: 4, lora_alpha: 4, train_text_encoder: true, seed });
  const trainer = new DreamBoothTrainer({
    unet,
    textEncoder,
    schedule: trainingNoiseSchedule(SD15_SCHEDULER_CONFIG),
    trainable,
    latentShape: [emojiUNetConfig.sample_size, emojiUNetConfig.sample_size, emojiUNetConfig.in_channels],
    instance,
    classExamples: [],
    options: {
      batchSize,
      priorWeight: 0,
      offsetNoise: 0,
      snrGamma: 5,
      maxGradNorm: 1,
      weightDecay: 1e-2,
      learningRate: identifiers ? { kind: "cosine", baseLr: identifiers.baseLr, warmupSteps: 50, totalSteps: steps } : { kind: "cosine", baseLr: 1e-3, warmupSteps: 100, totalSteps: steps },
      trainTextEncoder: true,
      seed,
      workers: trainingWorkers(),
    },
  });
  const checkpointFile = path.join(work, `${name}-checkpoint.safetensors`);
  // As in the VAE stage, the planned length is not part of the fingerprint, so a run can be extended.
  const fingerprint = JSON.stringify({ stage: name, seed, batchSize, examples: instance.length, scalingFactor, ...(identifiers ? { share: identifiers.share, baseLr: identifiers.baseLr } : {}) });
  if (await exists(checkpointFile)) await trainer.restoreCheckpoint(checkpointFile, fingerprint);
  const historyFile = path.join(work, `${name}-losses.json`);
  const history: { step: number; loss: number; seconds: number }[] = (await exists(historyFile)) ? JSON.parse(await readFile(historyFile, "utf8")) : [];
  // Training time adds up over resumed runs: each history point has the seconds spent up to its step.
  const seconds = sittingClock(history.at(-1)?.seconds ?? 0);
  if (trainer.step > 0) console.error(`${name}: resumed at step ${trainer.step} of ${steps}`);
  const progress = new Progress(name, steps, trainer.step);
  const stage = identifiers
    ? { command, seed, plannedSteps: steps, batchSize, share: identifiers.share, baseLr: identifiers.baseLr, examples: instance.length, reserved: RESERVED_IDENTIFIERS }
    : { command, seed, plannedSteps: steps, batchSize, images: set.images.length, jitterCopies, scalingFactor };
  await writeFile(path.join(work, `${name}-stage.json`), JSON.stringify(stage));
  const autoencoder = await autoencoderFacts(work);
  // The identifier stage's facts sit under `identifiers` beside the first stage's, which the continued model carried.
  const facts = () => (identifiers
    ? { ...initFacts, identifiers: { ...stage, steps: trainer.step, seconds: seconds(), losses: history } }
    : { ...stage, steps: trainer.step, seconds: seconds(), losses: history, ...autoencoder });
  while (trainer.step < steps) {
    const { step, loss } = trainer.trainStep();
    progress.update(step, loss);
    if (step % checkpointEvery === 0 || step === steps) {
      history.push({ step, loss: progress.smoothedLoss, seconds: seconds() });
      await trainer.saveCheckpoint(checkpointFile, fingerprint, { momentDtype: "BF16" });
      await writeFile(historyFile, JSON.stringify(history));
    }
    if (step % exportEvery === 0 || step === steps) await exportModel(out, { vae, unet, textEncoder }, set.vocabulary, facts());
  }
  if (!(await exists(path.join(out, "model_index.json")))) await exportModel(out, { vae, unet, textEncoder }, set.vocabulary, facts());
  trainer.dispose();
}
