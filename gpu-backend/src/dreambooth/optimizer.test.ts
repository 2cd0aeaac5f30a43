import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setSpeedSwitches } from "../tensor/speed-switches.js";
import { Random } from "../tensor/random.js";
import { adamWStep, clipScale, createAdamWState, gradientNorm } from "./optimizer.js";
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

  it("clips the global gradient norm", () => {
    const gradients = new Map<string, tf.Tensor>([
      ["a", tf.tensor1d([3])],
      ["b", tf.tensor2d([[4, 0]])],
    ]);
    const norm = gradientNorm(gradients);
    expect(norm).toBeCloseTo(5, 5);
    expect(clipScale(norm, 1)).toBeCloseTo(0.2, 6);
    expect(clipScale(norm, 10)).toBe(1);
  });

  /** Three steps of AdamW on parameters of several shapes, with a clipping factor, from fixed gradients. */
  async function threeSteps(fusedAdamW: boolean): Promise<{ parameters: Float32Array[]; norm: number; moments: Float32Array[] }> {
    setSpeedSwitches({ fusedAdamW });
    try {
      const random = new Random(5);
      const shapes = [[3, 3, 4, 8], [8], [16, 24]];
      const parameters = new Map(shapes.map((shape, i) => [`p${i}`, tf.tidy(() => tf.variable(random.normal(shape)))]));
      const state = createAdamWState(parameters);
      let norm = 0;
      for (const [step, lr] of [1e-2, 5e-3, 2e-3].entries()) {
        const gradients = new Map(shapes.map((shape, i) => [`p${i}`, tf.tidy(() => tf.mul(random.normal(shape), step + 1))]));
        norm = gradientNorm(gradients);
        adamWStep(parameters, gradients, state, lr, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }, clipScale(norm, 4));
        tf.dispose([...gradients.values()]);
      }
      const read = (tensors: Iterable<tf.Tensor>) => [...tensors].map((tensor) => tensor.dataSync() as Float32Array);
      const result = { parameters: read(parameters.values()), norm, moments: read([...state.firstMoment.values(), ...state.secondMoment.values()]) };
      tf.dispose([...parameters.values(), ...state.firstMoment.values(), ...state.secondMoment.values()]);
      return result;
    } finally {
      setSpeedSwitches({ fusedAdamW: true });
    }
  }

  it("takes the same steps as one kernel per parameter as with composed ops (fusedAdamW)", async () => {
    const tensorsBefore = tf.memory().numTensors;
    const fused = await threeSteps(true);
    const composed = await threeSteps(false);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(fused.norm).toBeGreaterThan(4); // the clipping factor is in play
    expect(fused.norm / composed.norm - 1).toBeLessThan(1e-6);
    const relativeL2 = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / b.reduce((s, v) => s + v * v, 0));
    for (const [i, values] of fused.parameters.entries()) expect(relativeL2(values, composed.parameters[i])).toBeLessThan(1e-6);
    for (const [i, values] of fused.moments.entries()) expect(relativeL2(values, composed.moments[i])).toBeLessThan(1e-6);
    // and the step moved the parameters: equal because both update, not because neither does
    const start = tf.tidy(() => new Random(5).normal([3, 3, 4, 8]).dataSync());
    expect(relativeL2(fused.parameters[0], start as Float32Array)).toBeGreaterThan(1e-3);
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
