import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { gelu } from "../model/layers.js";
import { initTensorBackend } from "./backend.js";
import { fusedGeglu } from "./geglu.js";
import { randomInputs, relativeError, valueAndGradients } from "./gradient-check.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));

describe("fused GEGLU on wasm equals the composed ops on the cpu backend", () => {
  it("value and gradient of hidden · gelu(gate) for [B, N, 2F] projections", async () => {
    // Scaled so gates cover GELU's curved region and both tails.
    const [projected] = randomInputs(4, [2, 5, 12]).map((input) => ({ ...input, values: input.values.map((v) => 2.5 * v) }));
    const composed = (x: tf.Tensor) => {
      const [hidden, gate] = tf.split(x, 2, -1);
      return tf.mul(hidden, gelu(gate));
    };
    await tf.setBackend("cpu");
    const reference = valueAndGradients(composed, [projected]);
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const got = valueAndGradients(fusedGeglu, [projected]);
    expect(tf.memory().numTensors).toBe(before);
    got.forEach((values, i) => expect(relativeError(values, reference[i])).toBeLessThan(1e-5));
  });
});
