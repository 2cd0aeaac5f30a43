import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../tensor/random.js";
import { watchTensorMemory } from "../tensor/memory-watch.js";
import { setSpeedSwitches, SPEED_SWITCH_NAMES, speedSwitches } from "../tensor/speed-switches.js";
import { createLora, LORA_TARGETS, loraVariables } from "./lora.js";
import { activationBytes, stepPlan } from "./memory-plan.js";
import { useBackend } from "./parity-fixtures.js";
import { sd15UNetConfig } from "./sd15-configs.js";
import { tinyUNetConfig } from "./tiny.js";
import { UNet2DConditionModel, type UNetMemoryOptions } from "./unet.js";

// The plan counts the composed ops, which is what a GPU runs (the fused CPU kernels are wasm/cpu only),
// so the measurement here turns the CPU speed switches off.
const switchesBefore = speedSwitches();
beforeAll(async () => {
  await useBackend("wasm");
  setSpeedSwitches(Object.fromEntries(SPEED_SWITCH_NAMES.map((name) => [name, false])));
});
afterAll(() => setSpeedSwitches(switchesBefore));

const shape = { batch: 2, latentSize: 16, contextLength: 77 };

/** Peak buffer bytes above the weights during one LoRA training step of the tiny UNet. */
function measuredStepPeak(memory: UNetMemoryOptions): number {
  const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 });
  const lora = createLora(unet.params, { rank: 4, targets: [LORA_TARGETS.attention] });
  unet.params.lora = lora;
  unet.memory = memory;
  const random = new Random(2);
  const latents = random.normal<tf.Rank.R4>([2, 16, 16, 4]);
  const context = random.normal<tf.Rank.R3>([2, 77, tinyUNetConfig.cross_attention_dim]);
  const timesteps = tf.tensor1d([10, 900]);
  const baseline = tf.memory().numBytes;
  const watch = watchTensorMemory();
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(unet.forward(latents, timesteps, context))) as tf.Scalar, loraVariables(lora));
  watch.stop();
  tf.dispose([value, ...Object.values(grads), latents, context, timesteps]);
  unet.params.dispose();
  return watch.peakBufferBytes - baseline;
}

describe("the memory plan", () => {
  it.each<[string, UNetMemoryOptions]>([
    ["plain", { gradientCheckpointing: false }],
    ["checkpointing", { gradientCheckpointing: true }],
    ["chunked attention", { gradientCheckpointing: false, attentionChunk: 64 }],
    ["both", { gradientCheckpointing: true, attentionChunk: 64 }],
  ])("predicts the measured activation peak of a tiny UNet LoRA step within 25%: %s", (_, memory) => {
    const planned = activationBytes(tinyUNetConfig, shape, { method: "lora", loraRank: 4, ...memory });
    const measured = measuredStepPeak(memory);
    expect(planned / measured).toBeGreaterThan(0.75);
    expect(planned / measured).toBeLessThan(1.25);
  });

  it("for SD1.5 at 512 px: float32 weights of every network, full fine-tunes add gradients, their clipped copy and two Adam moments", () => {
    const networks = { unet: sd15UNetConfig, unetParameters: 859_520_964, loraParameters: 797_184, otherParameters: 83_653_863 + 123_060_480 };
    const sd15Shape = { batch: 2, latentSize: 64, contextLength: 77 };
    const lora = stepPlan(networks, sd15Shape, { method: "lora", loraRank: 4, gradientCheckpointing: false });
    const full = stepPlan(networks, sd15Shape, { method: "full", loraRank: 4, gradientCheckpointing: false });
    expect(lora.weightBytes).toBe(4 * (859_520_964 + 83_653_863 + 123_060_480 + 797_184));
    expect(full.gradientBytes + full.optimizerBytes).toBe(4 * 4 * 859_520_964);
    expect(full.stepFlops / lora.stepFlops).toBeCloseTo(3 / 2);
    const checkpointed = stepPlan(networks, sd15Shape, { method: "lora", loraRank: 4, gradientCheckpointing: true, attentionChunk: 1024 });
    expect(checkpointed.activationBytes).toBeLessThan(lora.activationBytes / 5);
    expect(checkpointed.stepFlops / lora.stepFlops).toBeCloseTo(3 / 2);
  });
});
