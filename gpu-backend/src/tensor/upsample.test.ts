import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { registerTrainingKernels } from "./backend.js";
import { Random } from "./random.js";
import { upsampleNearest2x } from "./upsample.js";

registerTrainingKernels();

/** dL/dx of an upsample is the sum of dL/dy over each 2×2 block, computed here by plain loops. */
function blockSums(dy: Float32Array, [batch, height, width, channels]: number[]): Float32Array {
  const out = new Float32Array(batch * height * width * channels);
  for (let n = 0; n < batch; n++)
    for (let h = 0; h < 2 * height; h++)
      for (let w = 0; w < 2 * width; w++)
        for (let c = 0; c < channels; c++)
          out[((n * height + (h >> 1)) * width + (w >> 1)) * channels + c] += dy[((n * 2 * height + h) * 2 * width + w) * channels + c];
  return out;
}

describe("upsampleNearest2x", () => {
  for (const backend of ["cpu", "wasm"]) {
    it(`repeats pixels as resizeNearestNeighbor and back-propagates block sums with batch 3 on ${backend}`, async () => {
      await tf.setBackend(backend);
      const shape = [3, 2, 5, 4];
      const random = new Random(1);
      const x = tf.tensor4d(random.normalArray(120), shape as [number, number, number, number]);
      const dy = random.normalArray(480);
      const up = upsampleNearest2x(x);
      expect(up.shape).toEqual([3, 4, 10, 4]);
      expect(Array.from(up.dataSync())).toEqual(Array.from(tf.image.resizeNearestNeighbor(x, [4, 10]).dataSync()));
      const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(input as tf.Tensor4D), tf.tensor(dy, up.shape))))(x);
      const expected = blockSums(dy, shape);
      const got = dx.dataSync();
      for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i], 5);
      tf.dispose([x, up, dx]);
    });
  }
});
