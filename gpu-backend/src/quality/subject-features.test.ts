import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { maskedPool, subjectDescriptor, subjectHistogram, subjectMask } from "./subject-features.js";

/** A 4×4 image: flat colour `background` with a 2×2 block of `subject` at the top-left. */
function square(background: number[], subject: number[]) {
  const data = new Float32Array(4 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) data.set(x < 2 && y < 2 ? subject : background, (y * 4 + x) * 3);
  return { width: 4, height: 4, data };
}

describe("subject features", () => {
  it("masks the pixels whose colour differs from the border's median", () => {
    const mask = subjectMask(square([-1, -1, 1], [1, 1, -1]));
    expect([...mask]).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("histograms the subject's colours only, normalised", () => {
    const image = square([-1, -1, 1], [1, 1, -1]);
    const histogram = subjectHistogram(image, subjectMask(image));
    // (1,1,−1) → bins (3,3,0) → index 3·16 + 3·4 + 0 = 60, all four pixels.
    expect(histogram[60]).toBeCloseTo(1, 6);
    expect(histogram.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 6);
  });

  it("pools feature cells by their subject fraction and concatenates with equal weight", async () => {
    await tf.setBackend("cpu");
    // 2×2 cells of a 4×4 image; only the top-left cell is subject.
    const map = tf.tensor4d([3, 4, 10, 0, 0, 10, 7, 7], [1, 2, 2, 2]);
    const mask = subjectMask(square([-1, -1, 1], [1, 1, -1]));
    const [pooled] = maskedPool(map, [mask], 4);
    expect([...pooled].map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.8]);
    const descriptor = subjectDescriptor(pooled, Float32Array.from([0, 1]));
    expect(descriptor.reduce((sum, value) => sum + value * value, 0)).toBeCloseTo(1, 6);
    map.dispose();
  });
});
