import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gelu } from "../model/layers.js";
import { initTensorBackend } from "./backend.js";
import { fusedGeglu } from "./geglu.js";
import { randomInputs, relativeError, valueAndGradients } from "./gradient-check.js";
import { setSpeedSwitches } from "./speed-switches.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));

describe.each([true, false])("fused GEGLU on wasm equals the composed ops on the cpu backend, wasmSimd %s", (wasmSimd) => {
  beforeAll(() => setSpeedSwitches({ wasmSimd }));
  afterAll(() => setSpeedSwitches({ wasmSimd: true }));

  // 6 features a half: the JavaScript loops; 16: the SIMD loops (a multiple of 4).
  it.each([[2, 5, 12], [3, 7, 32]])("value and gradient of hidden · gelu(gate) for [B, N, 2F] = [%i, %i, %i]", async (...shape) => {
    // Scaled so gates cover GELU's curved region and both tails.
    const [projected] = randomInputs(4, shape).map((input) => ({ ...input, values: input.values.map((v) => 2.5 * v) }));
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
