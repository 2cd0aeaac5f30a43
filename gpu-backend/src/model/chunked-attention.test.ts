import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { chunkedAttention } from "./chunked-attention.js";
import { multiHeadAttention } from "./layers.js";
import { relativeL2, useBackend } from "./parity-fixtures.js";
import { Random } from "../tensor/random.js";

beforeAll(async () => {
  await useBackend("wasm");
});

/** Output and gradients with respect to q, k, v of a weighted sum of the attention's output. */
function outputAndGradients(attention: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor, queries: number, keys: number) {
  return tf.tidy(() => {
    const random = new Random(3);
    const [q, k, v] = [random.normal([2, queries, 8]), random.normal([2, keys, 8]), random.normal([2, keys, 8])];
    const weights = random.normal([2, queries, 8]);
    const output = attention(q, k, v).dataSync() as Float32Array;
    const grads = tf.grads((a, b, c) => tf.sum(tf.mul(attention(a, b, c), weights)))([q, k, v]);
    return { output, grads: grads.map((grad) => grad.dataSync() as Float32Array) };
  });
}

describe("chunked attention equals whole attention", () => {
  // 10 queries in slices of 3 leave a short last slice; 7 keys make it cross-attention-shaped.
  it.each([
    [3, 10, 7],
    [4, 16, 16],
    [64, 10, 7],
  ])("slices of %i queries (%i queries, %i keys): output and q/k/v gradients within 1e-5 relative L2", (chunk, queries, keys) => {
    const whole = outputAndGradients((q, k, v) => multiHeadAttention(q, k, v, 2), queries, keys);
    const sliced = outputAndGradients((q, k, v) => chunkedAttention(q, k, v, 2, chunk), queries, keys);
    expect(relativeL2(sliced.output, whole.output)).toBeLessThan(1e-5);
    sliced.grads.forEach((grad, i) => expect(relativeL2(grad, whole.grads[i])).toBeLessThan(1e-5));
  });

  it("never holds more than one slice of scores: the peak is below whole attention's", async () => {
    const peak = async (attention: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor) => {
      const random = new Random(1);
      const [q, k, v] = [random.normal([1, 256, 8]), random.normal([1, 256, 8]), random.normal([1, 256, 8])];
      const profile = await tf.profile(() => tf.tidy(() => tf.grads((a, b, c) => tf.sum(attention(a, b, c)))([q, k, v])));
      tf.dispose([q, k, v, ...(profile.result as tf.Tensor[])]);
      return profile.peakBytes;
    };
    const whole = await peak((q, k, v) => multiHeadAttention(q, k, v, 2));
    const sliced = await peak((q, k, v) => chunkedAttention(q, k, v, 2, 32));
    // Whole: the [2 heads, 256, 256] scores and softmax (512 KiB each) live at once; sliced: 1/8 of that.
    expect(sliced).toBeLessThan(whole / 2);
  });

  it("refuses a chunk that is not a positive integer", () => {
    const x = tf.zeros([1, 4, 4]);
    expect(() => chunkedAttention(x, x, x, 2, 0)).toThrow(/positive integer/);
    x.dispose();
  });
});
