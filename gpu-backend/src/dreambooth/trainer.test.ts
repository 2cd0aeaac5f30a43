import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClipTextModel } from "../model/clip-text.js";
import { tinyClipTextConfig, tinyUNetConfig } from "../model/tiny.js";
import { UNet2DConditionModel } from "../model/unet.js";
import { initTensorBackend } from "../tensor/backend.js";
import { Random } from "../tensor/random.js";
import { attachTrainableWeights } from "./trainable.js";
import { DreamBoothTrainer, type TrainerOptions, type TrainingExample } from "./trainer.js";

const directory = mkdtempSync(join(tmpdir(), "trainer-"));
let unet: UNet2DConditionModel;
let textEncoder: ClipTextModel;

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 });
  textEncoder = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 2 });
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const LATENT: [number, number, number] = [8, 8, 4];
const random = new Random(99);
const tokens = (...ids: number[]) => {
  const out = new Int32Array(8).fill(999);
  out.set([998, ...ids]);
  return out;
};
const example = (...ids: number[]): TrainingExample => ({
  latents: [random.normalArray(8 * 8 * 4), random.normalArray(8 * 8 * 4)],
  tokenIds: tokens(...ids),
});
const instance = [example(5, 6), example(5, 6), example(7, 6)];
const classExamples = [example(6), example(6)];
const alphasCumprod = Float32Array.from({ length: 1000 }, (_, t) => Math.cos(((t / 1000 + 0.008) / 1.008) * (Math.PI / 2)) ** 2);

const options = (overrides: Partial<TrainerOptions> = {}): TrainerOptions => ({
  batchSize: 1,
  priorWeight: 1,
  offsetNoise: 0.1,
  snrGamma: 5,
  maxGradNorm: 1,
  weightDecay: 1e-2,
  learningRate: { kind: "cosine", baseLr: 1e-2, warmupSteps: 1, totalSteps: 4 },
  trainTextEncoder: false,
  seed: 42,
  ...overrides,
});

/** Trains `steps` steps of a fresh LoRA and returns the adapter weights. */
async function trainLora(steps: number, setup: { resumeFrom?: string; saveAt?: { step: number; file: string }; extra?: Partial<TrainerOptions>; prior?: boolean } = {}) {
  const trainable = attachTrainableWeights(
    { unet, textEncoder },
    { method: "lora", lora_rank: 2, lora_alpha: 2, train_text_encoder: setup.extra?.trainTextEncoder ?? false, seed: 3 },
  );
  const trainer = new DreamBoothTrainer({
    unet,
    textEncoder,
    schedule: { alphasCumprod, predictionType: "epsilon" },
    trainable,
    latentShape: LATENT,
    instance,
    classExamples: setup.prior === false ? [] : classExamples,
    options: options(setup.extra),
  });
  if (setup.resumeFrom) await trainer.restoreCheckpoint(setup.resumeFrom, "fingerprint");
  const losses: number[] = [];
  while (trainer.step < steps) {
    losses.push(trainer.trainStep().loss);
    if (setup.saveAt?.step === trainer.step) await trainer.saveCheckpoint(setup.saveAt.file, "fingerprint");
  }
  const weights = new Map([...trainable.variables].map(([name, variable]) => [name, Array.from(variable.dataSync())]));
  trainer.dispose();
  trainable.release();
  return { weights, losses };
}

describe("DreamBoothTrainer", () => {
  it("is reproducible: the same seed and inputs give the same weights, and leaks no tensors", async () => {
    const first = await trainLora(3);
    const tensorsBefore = tf.memory().numTensors;
    const second = await trainLora(3);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(second.weights).toEqual(first.weights);
    expect(first.losses.every(Number.isFinite)).toBe(true);
    // Training moved the adapters (LoRA up starts at zero).
    expect([...first.weights].some(([name, values]) => name.endsWith("lora_up") && values.some((v) => v !== 0))).toBe(true);
  });

  it("trains to the same weights with gradient checkpointing and attention chunks, and gives the UNet back plain", async () => {
    const plain = await trainLora(2);
    const bounded = await trainLora(2, { extra: { memory: { gradientCheckpointing: true, attentionChunk: 16 } } });
    expect(unet.memory).toEqual({ gradientCheckpointing: false });
    // Chunked attention sums in another order, and AdamW's first steps divide each gradient by its own
    // magnitude, so float32 rounding shows at ~1e-5 of the weights (a wrong gradient would show at 1e-2 and up).
    for (const [name, values] of plain.weights) {
      const other = bounded.weights.get(name)!;
      const difference = Math.hypot(...values.map((value, i) => value - other[i]));
      expect(difference).toBeLessThanOrEqual(5e-5 * Math.max(Math.hypot(...values), 1e-3));
    }
    bounded.losses.forEach((loss, i) => expect(Math.abs(loss - plain.losses[i])).toBeLessThan(1e-5 * plain.losses[i]));
  });

  it("resuming from a checkpoint ends with the same weights as an uninterrupted run", async () => {
    const file = join(directory, "step2.safetensors");
    const uninterrupted = await trainLora(4, { saveAt: { step: 2, file } });
    const resumed = await trainLora(4, { resumeFrom: file });
    expect(resumed.losses).toHaveLength(2);
    expect(resumed.weights).toEqual(uninterrupted.weights);
  });

  it("refuses a checkpoint of another job", async () => {
    const file = join(directory, "other.safetensors");
    await trainLora(1, { saveAt: { step: 1, file } });
    const trainable = attachTrainableWeights({ unet, textEncoder }, { method: "lora", lora_rank: 2, lora_alpha: 2, train_text_encoder: false, seed: 3 });
    const trainer = new DreamBoothTrainer({
      unet,
      textEncoder,
      schedule: { alphasCumprod, predictionType: "epsilon" },
      trainable,
      latentShape: LATENT,
      instance,
      classExamples,
      options: options(),
    });
    await expect(trainer.restoreCheckpoint(file, "another job")).rejects.toThrow(/other inputs/);
    trainer.dispose();
    trainable.release();
  });

  it("leaves the shared base model untouched after LoRA and full fine-tunes", async () => {
    const before = tf.tidy(() => Array.from(unet.params.params.get("conv_in.weight")!.variable.dataSync()));
    await trainLora(1, { extra: { trainTextEncoder: true } });
    expect(unet.params.lora).toBeUndefined();
    const trainable = attachTrainableWeights({ unet, textEncoder }, { method: "full", lora_rank: 2, lora_alpha: 2, train_text_encoder: false, seed: 3 });
    const trainer = new DreamBoothTrainer({
      unet,
      textEncoder,
      schedule: { alphasCumprod, predictionType: "v_prediction" },
      trainable,
      latentShape: LATENT,
      instance,
      classExamples: [],
      options: options({ learningRate: { kind: "constant", baseLr: 1e-3, warmupSteps: 0, totalSteps: 1 } }),
    });
    trainer.trainStep();
    expect(Array.from(unet.params.params.get("conv_in.weight")!.variable.dataSync())).not.toEqual(before);
    trainer.dispose();
    trainable.release();
    expect(Array.from(unet.params.params.get("conv_in.weight")!.variable.dataSync())).toEqual(before);
    expect(unet.params.params.get("conv_in.weight")!.variable.trainable).toBe(false);
  });
});
