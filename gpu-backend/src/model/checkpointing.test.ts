import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Random } from "../tensor/random.js";
import { checkpoint, trainableVariablesUnder } from "./checkpointing.js";
import { createLora, LORA_TARGETS } from "./lora.js";
import { setTrainable } from "./params.js";
import { relativeL2, useBackend } from "./parity-fixtures.js";
import { tinyUNetConfig } from "./tiny.js";
import { UNet2DConditionModel, type UNetMemoryOptions } from "./unet.js";

beforeAll(async () => {
  await useBackend("wasm");
});

const PLAIN: UNetMemoryOptions = { gradientCheckpointing: false };
const OPTIONS: [string, UNetMemoryOptions][] = [
  ["gradient checkpointing", { gradientCheckpointing: true }],
  ["chunked attention", { gradientCheckpointing: false, attentionChunk: 24 }],
  ["both", { gradientCheckpointing: true, attentionChunk: 24 }],
];

/** The prediction, and the gradients of a weighted sum of it with respect to `variables`, the latents and the text states. */
function predictionAndGradients(unet: UNet2DConditionModel, memory: UNetMemoryOptions, variables: tf.Variable[]) {
  unet.memory = memory;
  return tf.tidy(() => {
    const random = new Random(11);
    const sample = random.normal<tf.Rank.R4>([2, 8, 8, 4]);
    const context = random.normal<tf.Rank.R3>([2, 5, tinyUNetConfig.cross_attention_dim]);
    const weights = random.normal([2, 8, 8, 4]);
    const timesteps = tf.tensor1d([10, 700]);
    const prediction = unet.forward(sample, timesteps, context).dataSync() as Float32Array;
    const objective = () => tf.sum(tf.mul(unet.forward(sample, timesteps, context), weights)) as tf.Scalar;
    const { grads } = tf.variableGrads(objective, variables);
    const inputGrads = tf.grads((x, c) => tf.sum(tf.mul(unet.forward(x as tf.Tensor4D, timesteps, c as tf.Tensor3D), weights)))([sample, context]);
    return {
      prediction,
      variables: variables.map((variable) => grads[variable.name].dataSync() as Float32Array),
      inputs: inputGrads.map((grad) => grad.dataSync() as Float32Array),
    };
  });
}

function expectSame(actual: ReturnType<typeof predictionAndGradients>, expected: ReturnType<typeof predictionAndGradients>) {
  expect(relativeL2(actual.prediction, expected.prediction)).toBeLessThan(1e-5);
  const worst = Math.max(
    ...actual.variables.map((grad, i) => relativeL2(grad, expected.variables[i])),
    ...actual.inputs.map((grad, i) => relativeL2(grad, expected.inputs[i])),
  );
  expect(worst).toBeLessThan(1e-5);
}

describe("memory options leave the UNet's outputs and gradients unchanged", () => {
  it.each(OPTIONS)("LoRA training with %s: prediction, adapter, latent and text gradients within 1e-5 relative", (_, memory) => {
    const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 4 });
    const lora = createLora(unet.params, { rank: 2, targets: [LORA_TARGETS.attention, LORA_TARGETS.feedForward], seed: 2 });
    lora.adapters.forEach((adapter, path) => adapter.up.assign(tf.randomNormal(adapter.up.shape, 0, 0.1, "float32", path.length)));
    unet.params.lora = lora;
    const variables = [...lora.adapters.values()].flatMap((adapter) => [adapter.down, adapter.up]);
    expectSame(predictionAndGradients(unet, memory, variables), predictionAndGradients(unet, PLAIN, variables));
    unet.params.dispose();
  });

  it("full fine-tuning with checkpointing and chunks: every weight's gradient within 1e-5 relative", () => {
    const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 5 });
    setTrainable(unet.params, true);
    expectSame(predictionAndGradients(unet, OPTIONS[2][1], unet.params.variables), predictionAndGradients(unet, PLAIN, unet.params.variables));
    unet.params.dispose();
  });
});

describe("checkpoint", () => {
  it("finds a block's trainable weights and adapters by module path, and nothing of its neighbours", () => {
    const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 6 });
    expect(trainableVariablesUnder(unet.params, "down_blocks.0.resnets.0")).toEqual([]);
    const lora = createLora(unet.params, { rank: 2, targets: [LORA_TARGETS.attention] });
    unet.params.lora = lora;
    const adapters = trainableVariablesUnder(unet.params, "down_blocks.0.attentions.0");
    expect(adapters).toHaveLength(8 * 2);
    expect(trainableVariablesUnder(unet.params, "down_blocks.0.resnets.0")).toEqual([]);
    setTrainable(unet.params, true);
    const resnet = trainableVariablesUnder(unet.params, "down_blocks.0.resnets.0");
    expect(resnet).toContain(unet.params.params.get("down_blocks.0.resnets.0.conv1.weight")!.variable);
    expect(resnet.some((variable) => variable === unet.params.params.get("down_blocks.1.resnets.0.conv1.weight")!.variable)).toBe(false);
    unet.params.dispose();
  });

  it("keeps less for the backward pass: a chain of checkpointed blocks peaks lower than the plain chain", async () => {
    const weight = tf.variable(tf.randomNormal([64, 64], 0, 0.1, "float32", 1), true);
    const block = (x: tf.Tensor2D) => tf.tanh(tf.matMul(tf.tanh(tf.matMul(tf.tanh(tf.matMul(x, weight)), weight)), weight)) as tf.Tensor2D;
    const chain = (useCheckpoints: boolean) => {
      let x = tf.ones([256, 64]) as tf.Tensor2D;
      for (let i = 0; i < 8; i++) x = useCheckpoints ? checkpoint((h) => block(h), [x], [weight]) : block(x);
      return tf.sum(x) as tf.Scalar;
    };
    const peakAndGradient = async (useCheckpoints: boolean) => {
      const profile = await tf.profile(() => tf.variableGrads(() => chain(useCheckpoints), [weight]).grads[weight.name]);
      const gradient = profile.result as tf.Tensor;
      const values = gradient.dataSync() as Float32Array;
      gradient.dispose();
      return { peak: profile.peakBytes, values };
    };
    const plain = await peakAndGradient(false);
    const checkpointed = await peakAndGradient(true);
    expect(relativeL2(checkpointed.values, plain.values)).toBeLessThan(1e-5);
    expect(checkpointed.peak).toBeLessThan(plain.peak * 0.6);
    weight.dispose();
  });
});
