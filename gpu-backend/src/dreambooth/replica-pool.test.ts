import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ClipTextModel } from "../model/clip-text.js";
import { tinyClipTextConfig, tinyUNetConfig } from "../model/tiny.js";
import { UNet2DConditionModel } from "../model/unet.js";
import { initTensorBackend } from "../tensor/backend.js";
import { Random } from "../tensor/random.js";
import { replicasFor, SINGLE_THREADED_GC, sideBySideEnv, trainingThreadsNote, trainingWorkers } from "./replica-pool.js";
import { shardRanges } from "./shard.js";
import { attachTrainableWeights, type TrainingChoice } from "./trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "./trainer.js";

let unet: UNet2DConditionModel;
let textEncoder: ClipTextModel;

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 });
  textEncoder = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 2 });
});

const random = new Random(5);
const example = (...ids: number[]): TrainingExample => {
  const tokenIds = new Int32Array(8).fill(999);
  tokenIds.set([998, ...ids]);
  return { latents: [random.normalArray(8 * 8 * 4), random.normalArray(8 * 8 * 4)], tokenIds };
};
const instance = [example(5, 6), example(7, 6), example(5, 7)];
const classExamples = [example(6), example(6)];
const alphasCumprod = Float32Array.from({ length: 1000 }, (_, t) => Math.cos(((t / 1000 + 0.008) / 1.008) * (Math.PI / 2)) ** 2);

/** A trainer on `batchSize` subject + as many class examples a step, with at most `workers` replicas. */
function trainerFor(workers: number, trainable: ReturnType<typeof attachTrainableWeights>, steps: number, batchSize: number) {
  return new DreamBoothTrainer({
    unet,
    textEncoder,
    schedule: { alphasCumprod, predictionType: "epsilon" },
    trainable,
    latentShape: [8, 8, 4],
    instance,
    classExamples,
    options: {
      batchSize,
      priorWeight: 0.5,
      offsetNoise: 0.1,
      snrGamma: 5,
      maxGradNorm: 1,
      weightDecay: 1e-2,
      learningRate: { kind: "constant", baseLr: 1e-2, warmupSteps: 0, totalSteps: steps },
      trainTextEncoder: trainable.choice.train_text_encoder,
      seed: 11,
      workers,
    },
  });
}

/** Trains `steps` steps with `workers` replicas; returns the trained weights and the losses. */
function train(workers: number, choice: TrainingChoice, steps = 2) {
  const trainable = attachTrainableWeights({ unet, textEncoder }, choice);
  // 3 subject + 3 class examples: replica shards hold a mix of both halves.
  const trainer = trainerFor(workers, trainable, steps, 3);
  const losses: number[] = [];
  const gradNorms: number[] = [];
  try {
    expect(trainer.replicas).toBe(workers);
    while (trainer.step < steps) {
      const { loss, gradNorm } = trainer.trainStep();
      losses.push(loss);
      gradNorms.push(gradNorm);
    }
    return { losses, gradNorms, weights: new Map([...trainable.variables].map(([key, variable]) => [key, Float32Array.from(variable.dataSync())])) };
  } finally {
    trainer.dispose();
    trainable.release();
  }
}

const relative = (a: number[], b: number[]) => Math.max(...a.map((value, i) => Math.abs(value - b[i]) / Math.abs(b[i])));

function largestRelativeDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let difference = 0;
  let scale = 0;
  for (const [key, values] of a) {
    const other = b.get(key)!;
    values.forEach((value, i) => {
      difference = Math.max(difference, Math.abs(value - other[i]));
      scale = Math.max(scale, Math.abs(value));
    });
  }
  return difference / scale;
}

const lora: TrainingChoice = { method: "lora", lora_rank: 2, lora_alpha: 2, train_text_encoder: false, seed: 3 };
const fullWithText: TrainingChoice = { method: "full", lora_rank: 2, lora_alpha: 2, train_text_encoder: true, seed: 3 };

describe("data-parallel training", () => {
  it("two replicas train the same weights as one (LoRA, frozen prompts) and repeat themselves exactly", () => {
    const one = train(1, lora);
    const two = train(2, lora);
    const twoAgain = train(2, lora);
    expect(twoAgain.weights).toEqual(two.weights);
    expect(twoAgain.losses).toEqual(two.losses);
    // Step 2's loss and gradient are computed from step 1's weights, so they check those too.
    expect(relative(two.losses, one.losses)).toBeLessThan(1e-5);
    expect(relative(two.gradNorms, one.gradNorms)).toBeLessThan(1e-5);
    // Adam's first steps turn near-zero gradients into ±lr moves, so weights agree less tightly than gradients.
    expect(largestRelativeDifference(two.weights, one.weights)).toBeLessThan(1e-3);
    // The steps moved the adapters, so agreeing is not agreeing on the starting point.
    expect([...two.weights].some(([key, values]) => key.endsWith("lora_up") && values.some((v) => v !== 0))).toBe(true);
  });

  it("three replicas agree with one on a full fine-tune that trains the text encoder", () => {
    const before = tf.memory().numTensors;
    const one = train(1, fullWithText, 1);
    const three = train(3, fullWithText, 1);
    expect(tf.memory().numTensors).toBe(before);
    expect(relative(three.losses, one.losses)).toBeLessThan(1e-5);
    expect(relative(three.gradNorms, one.gradNorms)).toBeLessThan(1e-5);
    expect(largestRelativeDifference(three.weights, one.weights)).toBeLessThan(1e-3);
  });
});

describe("replicasFor", () => {
  it("gives every replica at least two examples of the step, and uses no more replicas than asked", () => {
    expect(replicasFor(2, 2)).toBe(1);
    expect(replicasFor(3, 2)).toBe(1);
    expect(replicasFor(4, 2)).toBe(2);
    expect(replicasFor(16, 2)).toBe(2);
    expect(replicasFor(6, 8)).toBe(3);
    expect(replicasFor(1, 1)).toBe(1);
  });

  it("keeps a step of 1 subject + 1 class example on the trainer's thread", () => {
    const trainable = attachTrainableWeights({ unet, textEncoder }, lora);
    const trainer = trainerFor(2, trainable, 1, 1);
    try {
      expect(trainer.replicas).toBe(1);
      expect(Number.isFinite(trainer.trainStep().loss)).toBe(true);
    } finally {
      trainer.dispose();
      trainable.release();
    }
  });
});

describe("shardRanges", () => {
  it("cuts a batch into contiguous, balanced shards, never more than examples", () => {
    expect(shardRanges(5, 2)).toEqual([[0, 3], [3, 5]]);
    expect(shardRanges(6, 4)).toEqual([[0, 2], [2, 4], [4, 5], [5, 6]]);
    expect(shardRanges(1, 2)).toEqual([[0, 1]]);
  });
});

describe("trainingWorkers", () => {
  it("is TRAIN_WORKERS when set, else one per core, and one on the tensorflow backend", () => {
    expect(trainingWorkers({ TRAIN_WORKERS: "3" }, "wasm")).toBe(3);
    expect(trainingWorkers({}, "wasm")).toBeGreaterThanOrEqual(1);
    expect(trainingWorkers({}, "tensorflow")).toBe(1);
    expect(() => trainingWorkers({ TRAIN_WORKERS: "0" }, "wasm")).toThrow(/positive integer/);
  });
});

describe("trainingThreadsNote", () => {
  it("says how many replicas train and names the GC flag when several run without it", () => {
    expect(trainingThreadsNote(1, [])).toBe("1 training replica");
    expect(trainingThreadsNote(2, ["--import", "tsx", SINGLE_THREADED_GC])).toBe("2 training replicas, single-threaded GC");
    expect(trainingThreadsNote(2, ["--import", "tsx"])).toMatch(/^2 training replicas; start node with --single-threaded-gc /);
  });
});

describe("sideBySideEnv", () => {
  it("shares the cores out between processes started side by side, unless TRAIN_WORKERS is set", () => {
    expect(sideBySideEnv(2, { PATH: "/bin" }, 2)).toEqual({ PATH: "/bin", TRAIN_WORKERS: "1" });
    expect(sideBySideEnv(2, {}, 8).TRAIN_WORKERS).toBe("4");
    expect(sideBySideEnv(4, {}, 2).TRAIN_WORKERS).toBe("1");
    expect(sideBySideEnv(2, { TRAIN_WORKERS: "3" }, 2).TRAIN_WORKERS).toBe("3");
    expect(trainingWorkers(sideBySideEnv(2, {}, 2), "wasm")).toBe(1);
  });
});
