/**
 * Stage 1 of pretraining: the autoencoder, as a general emoji codec. Each step draws a fresh batch of
 * scenes from a seeded source (any Noto emoji on any background at any size: codec-scenes.ts), so
 * the model sees tens of thousands of distinct images without holding them. Loss per image element:
 * L1 reconstruction (flat emoji colours stay crisper than under L2), plus L1 on the horizontal and
 * vertical image gradients (edges: a blurred outline loses little L1 but all of its gradient), plus a
 * small KL term toward N(0, 1) that keeps the latent space smooth enough to diffuse in. AdamW with a
 * cosine schedule; checkpoints (weights, BF16 moments, step, RNG) every `checkpointEvery` steps, so a
 * killed run resumes exactly where it was.
 */
import { access } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs-core";
import { restoreCheckpoint, writeCheckpoint } from "../src/dreambooth/checkpoint.js";
import { pixelsBatch, type Pixels } from "../src/dreambooth/images.js";
import { learningRateAt, type LrSchedule } from "../src/dreambooth/lr-schedule.js";
import { adamWStep, clipScale, createAdamWState, DEFAULT_ADAMW, gradientNorm } from "../src/dreambooth/optimizer.js";
import type { AutoencoderKL } from "../src/model/vae.js";
import { Random } from "../src/tensor/random.js";
import { Progress, sittingClock } from "./progress.js";

export interface VaeStageOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  klWeight: number;
  /** Weight of the image-gradient L1 term (0: plain L1). */
  gradientWeight: number;
  seed: number;
  checkpointFile: string;
  checkpointEvery: number;
  /**
   * Train only the decoder (and post_quant_conv) with the encoder frozen, on the posterior means: latents
   * stay exactly what the UNet is trained on, while the images decoded from them get sharper (as SD's
   * ft-MSE VAE did).
   */
  decoderOnly?: boolean;
  /** A held-out measurement printed every 500 steps and at the end (e.g. round-trip PSNR on Twemoji), to watch a long run. */
  evaluate?: () => Promise<string>;
}

/** Draws the next batch of images from the stage's generator (its state is checkpointed with the weights). */
export type BatchSource = (random: Random, count: number) => Promise<Pixels[]>;

const exists = (file: string) => access(file).then(() => true, () => false);

/** Mean |Δx| + |Δy| difference between two image batches' finite differences ([B, H, W, C]). */
export function gradientL1(a: tf.Tensor4D, b: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [, height, width] = a.shape;
    const dx = (x: tf.Tensor4D) => tf.sub(tf.slice(x, [0, 0, 1, 0], [-1, -1, width - 1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, -1, width - 1, -1]));
    const dy = (x: tf.Tensor4D) => tf.sub(tf.slice(x, [0, 1, 0, 0], [-1, height - 1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, height - 1, -1, -1]));
    return tf.add(tf.mean(tf.abs(tf.sub(dx(a), dx(b)))), tf.mean(tf.abs(tf.sub(dy(a), dy(b))))) as tf.Scalar;
  });
}

/** The stage's final smoothed loss and its training time summed over every sitting (as its checkpoints record it). */
export interface VaeStageResult {
  finalLoss: number;
  seconds: number;
}

export async function trainVae(vae: AutoencoderKL, source: BatchSource, options: VaeStageOptions): Promise<VaeStageResult> {
  const trained = [...vae.params.params].filter(([name]) => !options.decoderOnly || /^(decoder|post_quant_conv)\./.test(name));
  const variables = new Map(trained.map(([name, { variable }]) => [name, variable]));
  for (const variable of variables.values()) variable.trainable = true;
  const optimizer = createAdamWState(variables);
  // Steps stay out of the fingerprint: a run may be resumed with a longer or shorter plan (the cosine follows the new end).
  const fingerprint = JSON.stringify({ stage: options.decoderOnly ? "vae-decoder" : "vae", config: vae.config, options: { ...options, steps: undefined, checkpointFile: undefined, evaluate: undefined } });
  let random = new Random(options.seed);
  let step = 0;
  let secondsBefore = 0;
  if (await exists(options.checkpointFile)) {
    const facts = await restoreCheckpoint(options.checkpointFile, variables, optimizer, fingerprint);
    step = facts.step;
    secondsBefore = facts.seconds ?? 0;
    random = new Random(facts.random);
    console.error(`${options.decoderOnly ? "decoder" : "vae"}: resumed at step ${step} of ${options.steps}`);
  }
  const schedule: LrSchedule = { kind: "cosine", baseLr: options.learningRate, warmupSteps: 50, totalSteps: options.steps };
  const progress = new Progress(options.decoderOnly ? "dec " : "vae ", options.steps, step);
  const downsampling = 2 ** (vae.config.block_out_channels.length - 1);
  const adamW = { ...DEFAULT_ADAMW, weightDecay: 0 };
  const seconds = sittingClock(secondsBefore);
  while (step < options.steps) {
    const batch = await source(random, options.batchSize);
    const { width, height } = batch[0];
    const noise = random.normalArray(options.batchSize * (height / downsampling) * (width / downsampling) * vae.config.latent_channels);
    const { value, grads } = tf.variableGrads(() => {
      const x = pixelsBatch(batch);
      const posterior = vae.encode(x);
      // The decoder fine-tune decodes the posterior mean: that is what the UNet learns and generates.
      const z = options.decoderOnly ? posterior.mean : vae.sample(posterior, tf.tensor4d(noise, posterior.mean.shape));
      const decoded = vae.decode(z);
      const reconstruction = tf.add(tf.mean(tf.abs(tf.sub(decoded, x))), tf.mul(gradientL1(decoded, x), options.gradientWeight));
      const variance = tf.exp(posterior.logvar);
      const kl = tf.mul(0.5, tf.mean(tf.sub(tf.add(tf.square(posterior.mean), variance), tf.add(1, posterior.logvar))));
      return tf.add(reconstruction, tf.mul(kl, options.klWeight)) as tf.Scalar;
    }, [...variables.values()]);
    const named = new Map([...variables].map(([key, variable]) => [key, grads[variable.name]]));
    adamWStep(variables, named, optimizer, learningRateAt(schedule, step), adamW, clipScale(gradientNorm(named), 1));
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    step += 1;
    progress.update(step, loss);
    if (step % options.checkpointEvery === 0 || step === options.steps) {
      await writeCheckpoint(options.checkpointFile, variables, optimizer, { step, random: random.state(), fingerprint, seconds: seconds(), momentDtype: "BF16" });
    }
    if (options.evaluate && (step % 500 === 0 || step === options.steps)) console.error(`${options.decoderOnly ? "decoder" : "vae"} step ${step}: ${await options.evaluate()}`);
  }
  for (const variable of variables.values()) variable.trainable = false;
  return { finalLoss: progress.smoothedLoss, seconds: seconds() };
}
