import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readCheckpointFacts } from "../src/dreambooth/checkpoint.js";
import type { Pixels } from "../src/dreambooth/images.js";
import { tinyVaeConfig } from "../src/model/tiny.js";
import { AutoencoderKL } from "../src/model/vae.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import type { Random } from "../src/tensor/random.js";
import { gradientL1, trainVae, type VaeStageOptions } from "./train-vae.js";

describe("the VAE's edge term", () => {
  it("is 0 for images that differ by a constant, and the mean |Δ| of finite differences otherwise", async () => {
    await tf.setBackend("cpu");
    // 1×2×2×1: a = [[0, 1], [0, 1]], b = a + 5 (same edges), c = [[0, 0], [0, 0]] (no edges).
    const a = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
    expect(gradientL1(a, tf.add(a, 5) as tf.Tensor4D).dataSync()[0]).toBeCloseTo(0, 6);
    // Δx of a: [1, 1] vs [0, 0] → 1; Δy of a: [0, 0] vs [0, 0] → 0.
    expect(gradientL1(a, tf.zeros([1, 2, 2, 1])).dataSync()[0]).toBeCloseTo(1, 6);
  });
});

/** Every batch "takes" 10 s of the clock: the batch source moves the (faked) time on. */
const source = async (random: Random, count: number): Promise<Pixels[]> => {
  vi.setSystemTime(Date.now() + 10_000);
  return Array.from({ length: count }, () => ({ width: 8, height: 8, data: random.normalArray(8 * 8 * 3).map((v) => Math.tanh(v)) }));
};

describe("an autoencoder stage's training time", () => {
  let work: string;
  beforeAll(async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    work = await mkdtemp(path.join(tmpdir(), "vae-stage-"));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));
  afterEach(() => vi.useRealTimers());

  it("adds up over sittings: a resumed stage reports the time of the steps before it too", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const options: VaeStageOptions = { steps: 2, batchSize: 2, learningRate: 1e-3, klWeight: 1e-6, gradientWeight: 0.1, seed: 3, checkpointFile: path.join(work, "vae-checkpoint.safetensors"), checkpointEvery: 1 };
    const vae = () => new AutoencoderKL(tinyVaeConfig, { kind: "random", seed: 1 });
    const first = await trainVae(vae(), source, options);
    expect(first.seconds).toBe(20);
    expect((await readCheckpointFacts(options.checkpointFile)).seconds).toBe(20);
    // A new sitting (a new process: a fresh model) continues from step 2 and adds its own 10 s.
    const second = await trainVae(vae(), source, { ...options, steps: 3 });
    expect(second.seconds).toBe(30);
    expect(Number.isFinite(second.finalLoss)).toBe(true);
  });
});
