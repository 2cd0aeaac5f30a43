/**
 * An image as the base model's autoencoder gives it back (encode → posterior mean → decode), clipped
 * and quantised to bytes as the pipeline's PNGs are. Every generated image leaves through that
 * decoder, so the round-tripped photos are the best any generation can look like: subject fidelity
 * is scored against them, the judge learns from them, and the pretraining gate measures the codec's
 * loss (PSNR) on them.
 */
import * as tf from "@tensorflow/tfjs-core";
import { pixelsBatch, type Pixels } from "../dreambooth/images.js";
import type { AutoencoderKL } from "../model/vae.js";
import { tidyValues } from "../tensor/tidy-values.js";

const CHUNK = 64;

export function vaeRoundTrip(vae: AutoencoderKL, images: Pixels[]): Pixels[] {
  const out: Pixels[] = [];
  for (let start = 0; start < images.length; start += CHUNK) {
    const chunk = images.slice(start, start + CHUNK);
    const values = tidyValues(() => tf.clipByValue(vae.decode(vae.encode(pixelsBatch(chunk)).mean), -1, 1));
    const size = values.length / chunk.length;
    chunk.forEach(({ width, height }, i) => {
      const data = values.slice(i * size, (i + 1) * size).map((value) => Math.round((value / 2 + 0.5) * 255) / 127.5 - 1);
      out.push({ width, height, data });
    });
  }
  return out;
}

/** Peak signal-to-noise ratio in dB of `decoded` against `original`, pixels in [-1, 1] (peak 2). */
export function psnr(original: Pixels[], decoded: Pixels[]): number {
  let squared = 0;
  let count = 0;
  original.forEach((image, i) => {
    for (let k = 0; k < image.data.length; k++) squared += (image.data[k] - decoded[i].data[k]) ** 2;
    count += image.data.length;
  });
  return 10 * Math.log10(4 / (squared / count));
}
