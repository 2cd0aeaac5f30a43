import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { initTensorBackend } from "./backend.js";

describe("wasm BatchMatMul with transposed operands", () => {
  it("matches the plain product of explicitly transposed operands, batched and not", async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    const a = tf.randomNormal([3, 5, 4], 0, 1, "float32", 1);
    const b = tf.randomNormal([3, 5, 6], 0, 1, "float32", 2);
    const c = tf.randomNormal([3, 6, 4], 0, 1, "float32", 3);
    const d = tf.randomNormal([3, 4, 5], 0, 1, "float32", 4);
    const cases: [tf.Tensor, tf.Tensor][] = [
      [tf.matMul(a, b, true, false), tf.matMul(tf.transpose(a, [0, 2, 1]), b)],
      [tf.matMul(b, d, true, true), tf.matMul(tf.transpose(b, [0, 2, 1]), tf.transpose(d, [0, 2, 1]))],
      [tf.matMul(a.reshape([15, 4]), c.reshape([18, 4]), false, true), tf.matMul(a.reshape([15, 4]), tf.transpose(c.reshape([18, 4])))],
    ];
    for (const [flagged, explicit] of cases) {
      expect(flagged.shape).toEqual(explicit.shape);
      const difference = tf.max(tf.abs(tf.sub(flagged, explicit))).dataSync()[0];
      expect(difference).toBeLessThan(1e-5);
    }
    const before = tf.memory().numTensors;
    tf.matMul(a, b, true, false).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
