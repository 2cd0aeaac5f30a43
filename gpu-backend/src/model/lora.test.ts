import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClipTextModel } from "./clip-text.js";
import { Linear } from "./layers.js";
import { createLora, disposeLora, LORA_TARGETS, loraVariables } from "./lora.js";
import { relativeL2, useBackend } from "./parity-fixtures.js";
import { ParamStore, Scope, setTrainable } from "./params.js";
import { tinyClipTextConfig, tinyUNetConfig } from "./tiny.js";
import { UNet2DConditionModel } from "./unet.js";

beforeAll(async () => {
  await useBackend("wasm");
});

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const item of disposables.splice(0)) item.dispose();
});

function tinyUNet(seed: number) {
  const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed });
  disposables.push(unet.params);
  return unet;
}

const inputs = () => ({
  sample: tf.randomNormal([2, 8, 8, 4], 0, 1, "float32", 1) as tf.Tensor4D,
  timesteps: tf.tensor1d([3, 700]),
  context: tf.randomNormal([2, 5, 32], 0, 1, "float32", 2) as tf.Tensor3D,
});

describe("createLora", () => {
  it("wraps every attention projection of the UNet, and CLIP's q/k/v/out with the text targets", () => {
    const unet = tinyUNet(1);
    const set = createLora(unet.params, { rank: 4 });
    // Tiny UNet: transformers in down 0 (1), mid (1), up 1 (2) → 4 blocks × 2 attentions × 4 projections.
    expect(set.adapters.size).toBe(32);
    expect(set.adapters.has("mid_block.attentions.0.transformer_blocks.0.attn2.to_k")).toBe(true);
    const toK = set.adapters.get("mid_block.attentions.0.transformer_blocks.0.attn2.to_k")!;
    expect(toK.down.shape).toEqual([32, 4]);
    expect(toK.up.shape).toEqual([4, 64]);
    expect(toK.up.dataSync().every((value) => value === 0)).toBe(true);
    disposeLora(set);

    const withFeedForward = createLora(unet.params, { rank: 2, targets: [LORA_TARGETS.attention, LORA_TARGETS.feedForward] });
    expect(withFeedForward.adapters.size).toBe(32 + 8);
    disposeLora(withFeedForward);

    const text = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 2 });
    disposables.push(text.params);
    const textSet = createLora(text.params, { rank: 2, targets: [LORA_TARGETS.textAttention] });
    expect([...textSet.adapters.keys()].slice(0, 4)).toEqual(
      ["q_proj", "k_proj", "v_proj", "out_proj"].map((name) => `text_model.encoder.layers.0.self_attn.${name}`),
    );
    expect(textSet.adapters.size).toBe(8);
    disposeLora(textSet);
  });
});

describe("LoRA in the forward pass", () => {
  it("changes nothing while up is zero, and adds (α/r)·scale·x·down·up once trained", () => {
    const store = new ParamStore({ kind: "random", seed: 3 });
    disposables.push(store);
    const linear = new Linear(new Scope(store, "transformer_blocks.0.attn1.to_q"), 5, 3);
    const x = tf.randomNormal([4, 5], 0, 1, "float32", 4);
    const base = linear.forward(x).dataSync();
    const set = createLora(store, { rank: 2, alpha: 8, seed: 1 });
    store.lora = set;
    expect(Array.from(linear.forward(x).dataSync())).toEqual(Array.from(base));

    const adapter = set.adapters.get("transformer_blocks.0.attn1.to_q")!;
    adapter.up.assign(tf.randomNormal([2, 3], 0, 1, "float32", 5));
    set.scale = 0.5;
    const expected = tf.tidy(() => tf.add(tf.tensor(base, [4, 3]), tf.mul(tf.matMul(tf.matMul(x, adapter.down), adapter.up), (8 / 2) * 0.5)));
    expect(relativeL2(linear.forward(x).dataSync(), expected.dataSync())).toBeLessThan(1e-6);
    set.scale = 0;
    expect(Array.from(linear.forward(x).dataSync())).toEqual(Array.from(base));
    store.lora = undefined;
    tf.dispose([x, expected]);
    disposeLora(set);
  });

  it("leaves the UNet's output bit-identical at initialisation and changes it once up is non-zero", () => {
    const unet = tinyUNet(4);
    const { sample, timesteps, context } = inputs();
    const base = unet.forward(sample, timesteps, context);
    const set = createLora(unet.params, { rank: 4 });
    unet.params.lora = set;
    const same = unet.forward(sample, timesteps, context);
    expect(Array.from(same.dataSync())).toEqual(Array.from(base.dataSync()));
    for (const adapter of set.adapters.values()) adapter.up.assign(tf.randomNormal(adapter.up.shape, 0, 0.1, "float32", 6));
    const adapted = unet.forward(sample, timesteps, context);
    expect(relativeL2(adapted.dataSync(), base.dataSync())).toBeGreaterThan(1e-3);
    unet.params.lora = undefined;
    tf.dispose([sample, timesteps, context, base, same, adapted]);
    disposeLora(set);
  });
});

describe("trainable variables", () => {
  it("LoRA training updates only the adapters, keeps the tensor count stable across steps", () => {
    const unet = tinyUNet(5);
    const set = createLora(unet.params, { rank: 4 });
    unet.params.lora = set;
    expect(unet.params.variables.every((variable) => !variable.trainable)).toBe(true);
    expect(loraVariables(set).every((variable) => variable.trainable)).toBe(true);
    const { sample, timesteps, context } = inputs();
    const target = tf.randomNormal([2, 8, 8, 4], 0, 1, "float32", 9);
    const frozenBefore = unet.params.params.get("conv_in.weight")!.variable.dataSync().slice();
    const optimizer = tf.train.sgd(0.1);
    const step = () => {
      const loss = optimizer.minimize(() => tf.losses.meanSquaredError(target, unet.forward(sample, timesteps, context)) as tf.Scalar, true, loraVariables(set));
      const value = loss!.dataSync()[0];
      loss!.dispose();
      return value;
    };
    const first = step();
    const count = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(count);
    expect(step()).toBeLessThan(first);
    expect(Array.from(unet.params.params.get("conv_in.weight")!.variable.dataSync())).toEqual(Array.from(frozenBefore));
    const someUp = set.adapters.get("mid_block.attentions.0.transformer_blocks.0.attn1.to_q")!.up;
    expect(someUp.dataSync().some((value) => value !== 0)).toBe(true);
    unet.params.lora = undefined;
    optimizer.dispose();
    tf.dispose([sample, timesteps, context, target]);
    disposeLora(set);
  });

  it("full fine-tuning marks every UNet variable trainable and each receives a gradient", () => {
    const unet = tinyUNet(6);
    setTrainable(unet.params, true);
    const { sample, timesteps, context } = inputs();
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(unet.forward(sample, timesteps, context))) as tf.Scalar, unet.params.variables);
    expect(Object.keys(grads)).toHaveLength(unet.params.params.size);
    const conv = unet.params.params.get("down_blocks.0.attentions.0.proj_in.weight")!.variable;
    expect(tf.abs(grads[conv.name]).max().dataSync()[0]).toBeGreaterThan(0);
    setTrainable(unet.params, false);
    tf.dispose([sample, timesteps, context, ...Object.values(grads)]);
  });
});
