import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { dreamboothLoss, exampleCoefficients, minSnrWeights, weightedExampleLoss } from "./loss.js";

// Two instance examples and two class examples of 2 elements each, by hand:
// instance errors (1,1) and (2,0) → per-example MSE 1 and 2 → MSE(instance) = 1.5
// class errors (0,2) and (3,1)    → per-example MSE 2 and 5 → MSE(class)    = 3.5
const prediction = () => tf.tensor4d([1, 1, 2, 0, 0, 2, 3, 1], [4, 1, 1, 2]);
const target = () => tf.zeros([4, 1, 1, 2]);

describe("dreamboothLoss", () => {
  it("is MSE(instance) + λ·MSE(class) with prior preservation", async () => {
    const { loss, instanceLoss, priorLoss } = dreamboothLoss(prediction(), target(), { instanceCount: 2, priorWeight: 0.5 });
    expect(await instanceLoss.data()).toEqual(new Float32Array([1.5]));
    expect(await priorLoss!.data()).toEqual(new Float32Array([3.5]));
    expect((await loss.data())[0]).toBeCloseTo(1.5 + 0.5 * 3.5, 6);
  });

  it("splits the halves by position: class examples first would give another loss", async () => {
    const swapped = tf.tensor4d([0, 2, 3, 1, 1, 1, 2, 0], [4, 1, 1, 2]);
    const { instanceLoss, priorLoss } = dreamboothLoss(swapped, target(), { instanceCount: 2, priorWeight: 1 });
    expect(await instanceLoss.data()).toEqual(new Float32Array([3.5]));
    expect(await priorLoss!.data()).toEqual(new Float32Array([1.5]));
  });

  it("without prior preservation the batch has no class half and the loss is MSE(instance)", async () => {
    const instanceOnly = tf.tensor4d([1, 1, 2, 0], [2, 1, 1, 2]);
    const { loss, priorLoss } = dreamboothLoss(instanceOnly, tf.zeros([2, 1, 1, 2]), { instanceCount: 2, priorWeight: 1 });
    expect(priorLoss).toBeUndefined();
    expect(await loss.data()).toEqual(new Float32Array([1.5]));
  });

  it("applies per-example weights before averaging each half", async () => {
    const weights = tf.tensor1d([1, 0.5, 2, 0]);
    const { loss } = dreamboothLoss(prediction(), target(), { instanceCount: 2, priorWeight: 1, exampleWeights: weights });
    // instance (1·1 + 0.5·2)/2 = 1, class (2·2 + 0·5)/2 = 2
    expect((await loss.data())[0]).toBeCloseTo(3, 6);
  });
});

describe("exampleCoefficients and weightedExampleLoss (the loss a replica computes on its share)", () => {
  it("give dreamboothLoss's value on the whole batch", async () => {
    const coefficients = exampleCoefficients(4, { instanceCount: 2, priorWeight: 0.5, exampleWeights: [1, 0.5, 2, 0] });
    // instance (1·1 + 0.5·2)/2 = 1, class 0.5·(2·2 + 0·5)/2 = 1
    expect((await weightedExampleLoss(prediction(), target(), coefficients).data())[0]).toBeCloseTo(2, 6);
  });

  it("sum over any split of the batch to the whole batch's loss", async () => {
    const coefficients = exampleCoefficients(4, { instanceCount: 2, priorWeight: 1 });
    const whole = (await weightedExampleLoss(prediction(), target(), coefficients).data())[0];
    const [first, second] = tf.split(prediction(), [3, 1]);
    const parts =
      (await weightedExampleLoss(first, tf.zeros(first.shape), coefficients.slice(0, 3)).data())[0] +
      (await weightedExampleLoss(second, tf.zeros(second.shape), coefficients.slice(3)).data())[0];
    expect(parts).toBeCloseTo(whole, 6);
    expect(whole).toBeCloseTo(1.5 + 3.5, 6);
  });
});

describe("minSnrWeights", () => {
  it("caps the weight of low-noise timesteps at γ/snr and leaves noisy ones at 1", () => {
    // ᾱ = 0.9 → snr 9; ᾱ = 0.5 → snr 1.
    const [low, high] = minSnrWeights([0.9, 0.5], 5, "epsilon");
    expect(low).toBeCloseTo(5 / 9, 10);
    expect(high).toBeCloseTo(1, 10);
    const [vLow, vHigh] = minSnrWeights([0.9, 0.5], 5, "v_prediction");
    expect(vLow).toBeCloseTo(5 / 10, 10);
    expect(vHigh).toBeCloseTo(1 / 2, 10);
  });
});
