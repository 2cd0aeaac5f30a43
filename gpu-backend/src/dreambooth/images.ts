/**
 * Turning photos into training pixels and pixels back into PNGs. Phones store
 * orientation in EXIF rather than in the pixels, so decoding applies it first
 * (`rotate()`); then the shortest side is scaled to the training resolution and a
 * square is cropped, as diffusers' DreamBooth script does (Resize → Center/Random
 * crop → [-1, 1]). Pixels are HWC float32, the layout of our NHWC networks.
 */
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { concatenate } from "../tensor/concatenate.js";

export interface PhotoOptions {
  resolution: number;
  centerCrop: boolean;
  /** Uniform [0, 1) source for the random crop offsets; seeded by the caller. */
  random: () => number;
}

export interface Pixels {
  width: number;
  height: number;
  /** HWC RGB in [-1, 1]. */
  data: Float32Array;
}

export async function decodeTrainingPhoto(bytes: Uint8Array, options: PhotoOptions): Promise<Pixels> {
  const { resolution, centerCrop, random } = options;
  const oriented = await sharp(bytes)
    .rotate()
    .resize({ width: resolution, height: resolution, fit: "outside", kernel: "lanczos3" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = oriented.info;
  const spareX = width - resolution;
  const spareY = height - resolution;
  const left = centerCrop ? Math.round(spareX / 2) : Math.floor(random() * (spareX + 1));
  const top = centerCrop ? Math.round(spareY / 2) : Math.floor(random() * (spareY + 1));
  const channels = oriented.info.channels;
  const data = new Float32Array(resolution * resolution * 3);
  for (let y = 0; y < resolution; y++) {
    for (let x = 0; x < resolution; x++) {
      const source = ((top + y) * width + left + x) * channels;
      const target = (y * resolution + x) * 3;
      for (let c = 0; c < 3; c++) data[target + c] = oriented.data[source + c] / 127.5 - 1;
    }
  }
  return { width: resolution, height: resolution, data };
}

/** Mirror image left-right (the `random_flip` augmentation). */
export function flipHorizontal(pixels: Pixels): Pixels {
  const { width, height, data } = pixels;
  const flipped = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const source = (y * width + x) * 3;
      const target = (y * width + (width - 1 - x)) * 3;
      flipped[target] = data[source];
      flipped[target + 1] = data[source + 1];
      flipped[target + 2] = data[source + 2];
    }
  }
  return { width, height, data: flipped };
}

/** An 8-bit RGB image as the pipeline renders it (row-major, height × width × 3). */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export function pixelsFromRgb(image: RgbImage): Pixels {
  const data = new Float32Array(image.rgb.length);
  for (let i = 0; i < data.length; i++) data[i] = image.rgb[i] / 127.5 - 1;
  return { width: image.width, height: image.height, data };
}

export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const { width, height, rgb } = image;
  return new Uint8Array(await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer());
}

/** PNG → pixels in [-1, 1]; lossless, so a cached class image trains exactly like a fresh one. */
export async function decodePng(bytes: Uint8Array): Promise<Pixels> {
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return pixelsFromRgb({ width: info.width, height: info.height, rgb: new Uint8Array(data) });
}

/** Same-sized images as one [N, H, W, 3] batch tensor. */
export function pixelsBatch(images: Pixels[]): tf.Tensor4D {
  const { width, height } = images[0];
  return tf.tensor4d(concatenate(images.map((image) => image.data)), [images.length, height, width, 3]);
}
