import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silu } from "../model/layers.js";
import { initTensorBackend } from "./backend.js";
import { randomInputs, relativeError, valueAndGradients, type Input } from "./gradient-check.js";
import { fusedGroupNorm, fusedLayerNorm } from "./group-norm.js";
import { setSpeedSwitches } from "./speed-switches.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));
afterAll(() => tf.setBackend("wasm"));

/** diffusers' GroupNorm written out in tfjs ops (torch.nn.GroupNorm's definition, biased variance). */
function composedGroupNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps: number): tf.Tensor {
  const [batch, height, width, channels] = x.shape;
  const grouped = x.reshape([batch, height * width, groups, channels / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 3], true);
  const normalized = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, eps))).reshape(x.shape);
  return tf.add(tf.mul(normalized, gamma), beta);
}

function composedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

/** The composed function on the cpu backend vs the fused one on wasm: value and every input's gradient. */
async function expectSame(composed: (...t: tf.Tensor[]) => tf.Tensor, fused: (...t: tf.Tensor[]) => tf.Tensor, inputs: Input[]) {
  await tf.setBackend("cpu");
  const reference = valueAndGradients(composed, inputs);
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  const got = valueAndGradients(fused, inputs);
  expect(tf.memory().numTensors).toBe(before);
  got.forEach((values, i) => expect(relativeError(values, reference[i])).toBeLessThan(1e-5));
}

/** Inputs x, γ, β with γ around 1 and an offset x (a mean far from 0 is where one-pass variance fails). */
function normInputs(shape: number[], seed: number): Input[] {
  const [x, gamma, beta] = randomInputs(seed, shape, [shape[shape.length - 1]], [shape[shape.length - 1]]);
  return [{ ...x, values: x.values.map((v) => 3 + 2 * v) }, { ...gamma, values: gamma.values.map((v) => 1 + 0.3 * v) }, beta];
}

describe.each([true, false])("fused GroupNorm on wasm equals the composed ops on the cpu backend (value, dx, dγ, dβ), wasmSimd %s", (wasmSimd) => {
  beforeAll(() => setSpeedSwitches({ wasmSimd }));
  afterAll(() => setSpeedSwitches({ wasmSimd: true }));

  it("GroupNorm, batch 2, 4 groups of 3 channels", async () => {
    await expectSame((x, g, b) => composedGroupNorm(x, g, b, 4, 1e-5), (x, g, b) => fusedGroupNorm(x as tf.Tensor4D, g, b, { groups: 4, eps: 1e-5, silu: false }), normInputs([2, 5, 3, 12], 1));
  });

  it("GroupNorm then SiLU (ResnetBlock2D), one group per channel", async () => {
    await expectSame(
      (x, g, b) => silu(composedGroupNorm(x, g, b, 6, 1e-6)),
      (x, g, b) => fusedGroupNorm(x as tf.Tensor4D, g, b, { groups: 6, eps: 1e-6, silu: true }),
      normInputs([3, 4, 4, 6], 2),
    );
  });

  it("GroupNorm then SiLU, batch 2, 4 groups of 4 channels (channels a multiple of 4: the SIMD sweeps)", async () => {
    await expectSame(
      (x, g, b) => silu(composedGroupNorm(x, g, b, 4, 1e-5)),
      (x, g, b) => fusedGroupNorm(x as tf.Tensor4D, g, b, { groups: 4, eps: 1e-5, silu: true }),
      normInputs([2, 5, 3, 16], 4),
    );
  });

  it("LayerNorm over the last axis of [B, N, C]", async () => {
    await expectSame((x, g, b) => composedLayerNorm(x, g, b, 1e-5), (x, g, b) => fusedLayerNorm(x, g, b, 1e-5), normInputs([2, 7, 10], 3));
  });

  it("LayerNorm with channels a multiple of 4 (all rows in one SIMD call)", async () => {
    await expectSame((x, g, b) => composedLayerNorm(x, g, b, 1e-5), (x, g, b) => fusedLayerNorm(x, g, b, 1e-5), normInputs([2, 9, 24], 5));
  });
});
