import { describe, expect, it } from "vitest";
import sharp from "sharp";
import { decodePng, decodeTrainingPhoto, encodePng, flipHorizontal, pixelsFromRgb } from "./images.js";

/** A 40×20 image: left half red, right half blue. */
async function halfRedHalfBlue(orientation?: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
  }
  let image = sharp(raw, { raw: { width: 40, height: 20, channels: 3 } });
  if (orientation) image = image.withMetadata({ orientation });
  return new Uint8Array(await image.png().toBuffer());
}

const pixelAt = (data: Float32Array, width: number, x: number, y: number) =>
  Array.from(data.slice((y * width + x) * 3, (y * width + x) * 3 + 3)).map((v) => Math.round(v));

describe("decodeTrainingPhoto", () => {
  it("scales the shortest side to the resolution, center-crops and maps to [-1, 1]", async () => {
    const pixels = await decodeTrainingPhoto(await halfRedHalfBlue(), { resolution: 8, centerCrop: true, random: Math.random });
    expect([pixels.width, pixels.height, pixels.data.length]).toEqual([8, 8, 192]);
    expect(pixelAt(pixels.data, 8, 0, 4)).toEqual([1, -1, -1]);
    expect(pixelAt(pixels.data, 8, 7, 4)).toEqual([-1, -1, 1]);
  });

  it("random crop takes its offset from the supplied random source", async () => {
    const photo = await halfRedHalfBlue();
    const leftmost = await decodeTrainingPhoto(photo, { resolution: 8, centerCrop: false, random: () => 0 });
    const rightmost = await decodeTrainingPhoto(photo, { resolution: 8, centerCrop: false, random: () => 0.999 });
    expect(pixelAt(leftmost.data, 8, 7, 4)).toEqual([1, -1, -1]);
    expect(pixelAt(rightmost.data, 8, 0, 4)).toEqual([-1, -1, 1]);
  });

  it("applies the EXIF orientation before cropping", async () => {
    // Orientation 6 = rotate 90° clockwise to display: the red left half ends on top.
    const pixels = await decodeTrainingPhoto(await halfRedHalfBlue(6), { resolution: 8, centerCrop: true, random: Math.random });
    expect(pixelAt(pixels.data, 8, 4, 0)).toEqual([1, -1, -1]);
    expect(pixelAt(pixels.data, 8, 4, 7)).toEqual([-1, -1, 1]);
  });
});

describe("png round trip and flip", () => {
  it("flips left-right and survives PNG encoding", async () => {
    const pixels = await decodeTrainingPhoto(await halfRedHalfBlue(), { resolution: 8, centerCrop: false, random: () => 0 });
    const flipped = flipHorizontal(pixels);
    expect(pixelAt(flipped.data, 8, 0, 0)).toEqual(pixelAt(pixels.data, 8, 7, 0));
    const rgb = Uint8Array.from(flipped.data, (value) => Math.round((value + 1) * 127.5));
    const image = { width: 8, height: 8, rgb };
    expect(await decodePng(await encodePng(image))).toEqual(pixelsFromRgb(image));
  });
});
