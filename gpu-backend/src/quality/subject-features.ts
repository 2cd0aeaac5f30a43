/**
 * Describing the subject of an image apart from its scene, as DINO's features do well enough for
 * DreamBench. The background is the median colour of the image's border; pixels far from it are the
 * subject. Two descriptions of the subject, each L2-normalised and then concatenated with equal
 * weight: the judge's last feature map averaged over the subject's cells (shape and parts, as the
 * judge learned them), and a 4×4×4 colour histogram of the subject's pixels (which drawing it is:
 * two vendors' dogs differ mostly in palette). The cosine of two such vectors is the mean of the
 * two cosines.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Pixels } from "../dreambooth/images.js";

/** Colour distance (RGB in [0, 1], Euclidean) above which a pixel is subject, not background. */
const SUBJECT_THRESHOLD = 0.15;

/** Per-pixel 1/0 subject mask, row-major. */
export function subjectMask(pixels: Pixels): Float32Array {
  const { width, height, data } = pixels;
  const border: number[][] = [[], [], []];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y !== 0 && x !== 0 && y !== height - 1 && x !== width - 1) continue;
      for (let c = 0; c < 3; c++) border[c].push(data[(y * width + x) * 3 + c]);
    }
  }
  const background = border.map((values) => values.sort((a, b) => a - b)[values.length >> 1]);
  const mask = new Float32Array(width * height);
  for (let i = 0; i < mask.length; i++) {
    let distance = 0;
    for (let c = 0; c < 3; c++) distance += ((data[i * 3 + c] - background[c]) / 2) ** 2;
    mask[i] = Math.sqrt(distance) > SUBJECT_THRESHOLD ? 1 : 0;
  }
  return mask;
}

/** 64-bin colour histogram of the masked pixels, L2-normalised (zeros when the mask is empty). */
export function subjectHistogram(pixels: Pixels, mask: Float32Array): Float32Array {
  const histogram = new Float32Array(64);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const bin = (channel: number) => Math.min(3, Math.floor(((pixels.data[i * 3 + channel] + 1) / 2) * 4));
    histogram[bin(0) * 16 + bin(1) * 4 + bin(2)] += 1;
  }
  return normalise(histogram);
}

export function normalise(vector: Float32Array): Float32Array {
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/** Feature-map cells weighted by the fraction of subject pixels in each ([B,h,w,C] → one vector per image). */
export function maskedPool(featureMap: tf.Tensor4D, masks: Float32Array[], imageSize: number): Float32Array[] {
  const [, cells, , channels] = featureMap.shape;
  const factor = imageSize / cells;
  const values = featureMap.dataSync();
  return masks.map((mask, b) => {
    const pooled = new Float32Array(channels);
    let weightSum = 0;
    for (let cy = 0; cy < cells; cy++) {
      for (let cx = 0; cx < cells; cx++) {
        let weight = 0;
        for (let y = cy * factor; y < (cy + 1) * factor; y++) for (let x = cx * factor; x < (cx + 1) * factor; x++) weight += mask[y * imageSize + x];
        weight /= factor * factor;
        weightSum += weight;
        const base = ((b * cells + cy) * cells + cx) * channels;
        for (let c = 0; c < channels; c++) pooled[c] += weight * values[base + c];
      }
    }
    if (weightSum === 0) return pooled;
    return normalise(pooled);
  });
}

/** The subject descriptor: [pooled judge features ‖ colour histogram] / √2. */
export function subjectDescriptor(pooled: Float32Array, histogram: Float32Array): Float32Array {
  const out = new Float32Array(pooled.length + histogram.length);
  out.set(pooled.map((value) => value / Math.SQRT2));
  out.set(histogram.map((value) => value / Math.SQRT2), pooled.length);
  return out;
}
