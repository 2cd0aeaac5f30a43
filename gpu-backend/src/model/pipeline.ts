/**
 * Text-to-image with Stable Diffusion 1.x, as diffusers' StableDiffusionPipeline: the prompt (and the
 * negative prompt, "" by default) through CLIP, Gaussian latents from the seed, the chosen scheduler's
 * denoising loop with classifier-free guidance ε = ε_u + g·(ε_c − ε_u) whenever g > 1, and the VAE
 * decoder on latents / scaling_factor, mapped from [-1, 1] to RGB bytes. The noise comes from our own
 * seeded generator in JavaScript, so a seed means one image on every backend (not the image
 * PyTorch's generator would give). Every step yields to the event loop and reports progress; a
 * progress callback that throws cancels the run, and nothing is left allocated either way.
 */
import * as tf from "@tensorflow/tfjs-core";
import path from "node:path";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { Random } from "../tensor/random.js";
import { tidyValues } from "../tensor/tidy-values.js";
import type { ClipTextModel } from "./clip-text.js";
import { readConfig } from "./config.js";
import { SchedulerConfigSchema, type SchedulerConfig } from "./schedulers/config.js";
import { createSampler, type Sampler, type SchedulerName } from "./schedulers/index.js";
import { loadStableDiffusion } from "./stable-diffusion.js";
import { ClipTokenizer } from "./tokenizer.js";
import type { UNet2DConditionModel } from "./unet.js";
import type { AutoencoderKL } from "./vae.js";

/** Everything a diffusers Stable Diffusion folder holds, loaded. */
export interface StableDiffusion {
  tokenizer: ClipTokenizer;
  textEncoder: ClipTextModel;
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  /** `scheduler/scheduler_config.json`; every sampler is built from it. */
  scheduler: SchedulerConfig;
}

const ModelIndexSchema = z.looseObject({
  tokenizer: z.tuple([z.string().nullable(), z.string().nullable()]),
  text_encoder: z.tuple([z.string().nullable(), z.string().nullable()]),
  unet: z.tuple([z.string().nullable(), z.string().nullable()]),
  vae: z.tuple([z.string().nullable(), z.string().nullable()]),
  scheduler: z.tuple([z.string().nullable(), z.string().nullable()]),
});

/** Loads a folder in diffusers' `model_index.json` layout (tokenizer/, text_encoder/, unet/, vae/, scheduler/). */
export async function loadStableDiffusionPipeline(directory: string, { variant }: { variant?: string } = {}): Promise<StableDiffusion> {
  const indexFile = path.join(directory, "model_index.json");
  const index = ModelIndexSchema.safeParse(JSON.parse(await readFile(indexFile, "utf8").catch(() => "null")));
  if (!index.success) throw new Error(`${indexFile}: not a Stable Diffusion model index (${index.error.issues[0].path.join(".") || "missing"})`);
  const tokenizer = await ClipTokenizer.fromDirectory(path.join(directory, "tokenizer"));
  const scheduler = await readConfig(SchedulerConfigSchema, path.join(directory, "scheduler", "scheduler_config.json"));
  const networks = await loadStableDiffusion(directory, { variant });
  return { tokenizer, scheduler, ...networks };
}

export function disposeStableDiffusion(model: StableDiffusion): void {
  for (const network of [model.textEncoder, model.unet, model.vae]) network.params.dispose();
}

export interface GenerateOptions {
  prompt: string;
  /** What guidance steers away from; "" (the unconditional embedding) when absent. */
  negativePrompt?: string;
  seed: number;
  steps: number;
  /** Classifier-free guidance scale; 1 or less runs the conditional branch alone. */
  guidanceScale: number;
  scheduler: SchedulerName;
  /** Image size in pixels; each must be a multiple of the VAE's downscale factor (8 for SD). */
  width: number;
  height: number;
  /** Strength of LoRA adapters attached to the UNet/text encoder for this run (restored afterwards). */
  loraScale?: number;
  /** Called after each denoising step; may be async (e.g. to stream progress); throwing cancels. */
  onProgress?: (step: number, total: number) => void | Promise<void>;
}

export interface GeneratedImage {
  width: number;
  height: number;
  /** Row-major RGB, `height × width × 3` bytes. */
  rgb: Uint8Array;
}

/** How many image pixels one latent pixel covers along a side: 2^(VAE levels − 1). */
export function vaeScaleFactor(vae: AutoencoderKL): number {
  return 2 ** (vae.config.block_out_channels.length - 1);
}

/** [B, M, D] text embeddings: the unconditional/negative prompt first when guidance is on, as diffusers orders them. */
function encodePrompts(model: StableDiffusion, prompts: string[]): tf.Tensor3D {
  return tf.tidy(() => {
    const ids = prompts.map((prompt) => Array.from(model.tokenizer.encode(prompt)));
    const output = model.textEncoder.forward(tf.tensor2d(ids, [ids.length, model.tokenizer.maxLength], "int32"));
    return output.lastHiddenState;
  });
}

/** An image in [-1, 1] ([1, H, W, 3]) as bytes: (x + 1)/2 clamped to [0, 1], times 255, rounded. */
export function toRgbBytes(image: tf.Tensor4D): Uint8Array {
  return Uint8Array.from(tidyValues(() => tf.round(tf.mul(tf.clipByValue(tf.add(tf.mul(image, 0.5), 0.5), 0, 1), 255))));
}

function withLoraScale<T>(model: StableDiffusion, scale: number | undefined, run: () => Promise<T>): Promise<T> {
  const sets = [model.unet.params.lora, model.textEncoder.params.lora].filter((set) => set != null);
  if (scale == null || sets.length === 0) return run();
  const previous = sets.map((set) => set.scale);
  for (const set of sets) set.scale = scale;
  return run().finally(() => sets.forEach((set, i) => (set.scale = previous[i])));
}

/**
 * One sampler step of `latents` with classifier-free guidance when `guidanceScale` > 1: the UNet sees
 * the batch twice, against `context` = [unconditional…, conditional…], and the two predictions are mixed.
 */
export function denoiseStep(
  model: StableDiffusion,
  sampler: Sampler,
  latents: tf.Tensor4D,
  i: number,
  context: tf.Tensor3D,
  guidanceScale: number,
  random: Random,
): tf.Tensor4D {
  const guided = guidanceScale > 1;
  return tf.tidy(() => {
    const input = sampler.scaleModelInput(latents, i);
    const batch = guided ? tf.concat([input, input], 0) : input;
    const timesteps = tf.fill([batch.shape[0]], sampler.timesteps[i], "float32") as tf.Tensor1D;
    const prediction = model.unet.forward(batch as tf.Tensor4D, timesteps, context);
    let noise = prediction;
    if (guided) {
      const [unconditional, conditional] = tf.split(prediction, 2, 0);
      noise = tf.add(unconditional, tf.mul(tf.sub(conditional, unconditional), guidanceScale));
    }
    return sampler.step(noise as tf.Tensor4D, i, latents, random);
  });
}

export function generate(model: StableDiffusion, options: GenerateOptions): Promise<GeneratedImage> {
  return withLoraScale(model, options.loraScale, () => denoiseAndDecode(model, options));
}

async function denoiseAndDecode(model: StableDiffusion, options: GenerateOptions): Promise<GeneratedImage> {
  const { width, height, steps, guidanceScale } = options;
  const factor = vaeScaleFactor(model.vae);
  if (width % factor !== 0 || height % factor !== 0) throw new Error(`width and height must be multiples of ${factor}, got ${width}×${height}`);
  const guided = guidanceScale > 1;
  const random = new Random(options.seed);
  const sampler = createSampler(options.scheduler, model.scheduler, steps);
  const latentShape: [number, number, number, number] = [1, height / factor, width / factor, model.unet.config.in_channels];
  const context = encodePrompts(model, guided ? [options.negativePrompt ?? "", options.prompt] : [options.prompt]);
  let latents = tf.tidy(() => tf.mul(random.normal<tf.Rank.R4>(latentShape), sampler.initNoiseSigma)) as tf.Tensor4D;
  try {
    for (let i = 0; i < sampler.timesteps.length; i++) {
      const next = denoiseStep(model, sampler, latents, i, context, guidanceScale, random);
      latents.dispose();
      latents = next;
      await new Promise((resolve) => setImmediate(resolve));
      await options.onProgress?.(i + 1, sampler.timesteps.length);
    }
    const image = tf.tidy(() => model.vae.decode(tf.div(latents, model.vae.scalingFactor) as tf.Tensor4D));
    const rgb = toRgbBytes(image);
    image.dispose();
    return { width, height, rgb };
  } finally {
    latents.dispose();
    context.dispose();
    sampler.dispose();
  }
}
