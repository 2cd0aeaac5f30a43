import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { watchTensorMemory } from "./memory-watch.js";

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
});

describe("watchTensorMemory", () => {
  it("sees the peak of short-lived tensors, counting a reshape once as a buffer and twice as tfjs does", () => {
    const watch = watchTensorMemory();
    try {
      tf.tidy(() => {
        const big = tf.ones([1000]);
        big.reshape([10, 100]);
      });
      expect(watch.peakBufferBytes - tf.memory().numBytes).toBe(4000);
      expect(watch.peakBytes - tf.memory().numBytes).toBe(8000);
      watch.reset();
      tf.tidy(() => {
        tf.ones([10]);
      });
      expect(watch.peakBufferBytes - tf.memory().numBytes).toBe(40);
    } finally {
      watch.stop();
    }
    expect(() => watchTensorMemory().stop()).not.toThrow();
  });
});
