import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { describe, expect, it } from "vitest";
import { gradientL1 } from "./train-vae.js";

describe("the VAE's edge term", () => {
  it("is 0 for images that differ by a constant, and the mean |Δ| of finite differences otherwise", async () => {
    await tf.setBackend("cpu");
    // 1×2×2×1: a = [[0, 1], [0, 1]], b = a + 5 (same edges), c = [[0, 0], [0, 0]] (no edges).
    const a = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
    expect(gradientL1(a, tf.add(a, 5) as tf.Tensor4D).dataSync()[0]).toBeCloseTo(0, 6);
    // Δx of a: [1, 1] vs [0, 0] → 1; Δy of a: [0, 0] vs [0, 0] → 0.
    expect(gradientL1(a, tf.zeros([1, 2, 2, 1])).dataSync()[0]).toBeCloseTo(1, 6);
  });
});
