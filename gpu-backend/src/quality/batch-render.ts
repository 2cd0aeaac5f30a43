/**
 * The pipeline's text-to-image loop for many (prompt, seed) pairs at once, for evaluations that
 * render dozens of tiny images: on a CPU a UNet call on 36 latents costs a few times one on 2, so one
 * batch is several times faster than `generate` per image. Deterministic samplers only (DDIM, Euler,
 * DPM-Solver): each image then equals `generate` with the same prompt and seed (its initial noise is
 * drawn from its own seed in the same way), which pipeline-equivalence tests check.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Pixels } from "../dreambooth/images.js";
import { denoiseStep, vaeScaleFactor, type StableDiffusion } from "../model/pipeline.js";
import { createSampler, type SchedulerName } from "../model/schedulers/index.js";
import { Random } from "../tensor/random.js";
import { tidyValues } from "../tensor/tidy-values.js";

export interface BatchRenderOptions {
  requests: { prompt: string; seed: number }[];
  steps: number;
  guidanceScale: number;
  scheduler: Exclude<SchedulerName, "ddpm">;
  resolution: number;
}

export function renderBatch(model: StableDiffusion, options: BatchRenderOptions): Pixels[] {
  const { requests, steps, guidanceScale, resolution } = options;
  const count = requests.length;
  const side = resolution / vaeScaleFactor(model.vae);
  const shape: [number, number, number, number] = [1, side, side, model.unet.config.in_channels];
  const sampler = createSampler(options.scheduler, model.scheduler, steps);
  const unused = new Random(0);
  const guided = guidanceScale > 1;
  try {
    const context = tf.tidy(() => {
      const prompts = [...(guided ? requests.map(() => "") : []), ...requests.map((request) => request.prompt)];
      const ids = prompts.map((prompt) => Array.from(model.tokenizer.encode(prompt)));
      return model.textEncoder.forward(tf.tensor2d(ids, [ids.length, model.tokenizer.maxLength], "int32")).lastHiddenState;
    });
    let latents = tf.tidy(() =>
      tf.mul(tf.concat(requests.map((request) => new Random(request.seed).normal<tf.Rank.R4>(shape)), 0), sampler.initNoiseSigma),
    ) as tf.Tensor4D;
    for (let i = 0; i < sampler.timesteps.length; i++) {
      const next = denoiseStep(model, sampler, latents, i, context, guidanceScale, unused);
      latents.dispose();
      latents = next;
    }
    const values = tidyValues(() => tf.clipByValue(model.vae.decode(tf.div(latents, model.vae.scalingFactor) as tf.Tensor4D), -1, 1));
    tf.dispose([latents, context]);
    const size = resolution * resolution * 3;
    // Quantised to bytes as the pipeline's PNGs are, so scores see what a user would see.
    return Array.from({ length: count }, (_, i) => ({
      width: resolution,
      height: resolution,
      data: values.slice(i * size, (i + 1) * size).map((value) => Math.round((value / 2 + 0.5) * 255) / 127.5 - 1),
    }));
  } finally {
    sampler.dispose();
  }
}
