import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { tidyValues } from "./tidy-values.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));

describe("tidyValues", () => {
  it("gives the values of the tensor computed and frees it and every intermediate", () => {
    const x = tf.tensor1d([1, -2, 3]);
    const before = tf.memory().numTensors;
    const values = tidyValues(() => tf.mul(tf.add(x, 1), 2));
    expect(Array.from(values)).toEqual([4, -2, 8]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it("gives the values of several tensors in the order returned, and frees them all", () => {
    const x = tf.tensor1d([1, 2]);
    const before = tf.memory().numTensors;
    const [sum, product] = tidyValues(() => [tf.add(x, x), tf.mul(x, tf.scalar(3))]);
    expect([Array.from(sum), Array.from(product)]).toEqual([[2, 4], [3, 6]]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
