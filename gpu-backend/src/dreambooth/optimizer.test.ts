import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { adamWStep, clipGradNorm, createAdamWState } from "./optimizer.js";
import { learningRateAt } from "./lr-schedule.js";

describe("AdamW", () => {
  it("matches torch.optim.AdamW on a hand-computed first and second step", async () => {
    const parameters = new Map([["w", tf.variable(tf.tensor1d([1, -2]))]]);
    const state = createAdamWState(parameters);
    const options = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 };
    adamWStep(parameters, new Map([["w", tf.tensor1d([0.5, -1])]]), state, 0.01, options);
    // Step 1: m̂ = g, v̂ = g², update = sign(g) (up to ε); p ← p(1 − lr·wd) − lr·sign(g).
    const afterOne = await parameters.get("w")!.data();
    expect(afterOne[0]).toBeCloseTo(1 * (1 - 0.001) - 0.01, 6);
    expect(afterOne[1]).toBeCloseTo(-2 * (1 - 0.001) + 0.01, 6);
    adamWStep(parameters, new Map([["w", tf.tensor1d([0.5, -1])]]), state, 0.01, options);
    // Same gradient again: m̂ = g, v̂ = g² still, so the update is the same size.
    const afterTwo = await parameters.get("w")!.data();
    expect(afterTwo[0]).toBeCloseTo(afterOne[0] * (1 - 0.001) - 0.01, 6);
    expect(state.step).toBe(2);
  });

  it("clips the global gradient norm", async () => {
    const gradients = new Map<string, tf.Tensor>([
      ["a", tf.tensor1d([3])],
      ["b", tf.tensor1d([4])],
    ]);
    const { clipped, norm } = clipGradNorm(gradients, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect((await clipped.get("a")!.data())[0]).toBeCloseTo(0.6, 5);
    expect((await clipped.get("b")!.data())[0]).toBeCloseTo(0.8, 5);
    expect(clipGradNorm(gradients, 10).clipped).toBe(gradients);
  });
});

describe("learning-rate schedule", () => {
  it("warms up linearly from 0 then stays constant", () => {
    const schedule = { kind: "constant" as const, baseLr: 1, warmupSteps: 4, totalSteps: 10 };
    expect([0, 1, 2, 4, 9].map((step) => learningRateAt(schedule, step))).toEqual([0, 0.25, 0.5, 1, 1]);
  });

  it("decays along a half cosine after the warmup", () => {
    const schedule = { kind: "cosine" as const, baseLr: 2, warmupSteps: 2, totalSteps: 6 };
    expect(learningRateAt(schedule, 2)).toBeCloseTo(2, 10);
    expect(learningRateAt(schedule, 4)).toBeCloseTo(1, 10);
    expect(learningRateAt(schedule, 6)).toBeCloseTo(0, 10);
  });
});
