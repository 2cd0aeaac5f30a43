/**
 * The DreamBooth objective. One batch holds the subject examples first and, with
 * prior preservation, the class examples after them; the loss is
 * `MSE(instance half) + λ · MSE(class half)` (Ruiz et al. 2022, eq. 2). Without
 * prior preservation the batch simply has no class half, so nothing is computed
 * for it (a zero weight would still cost the forward pass). Min-SNR-γ
 * (Hang et al. 2023) reweights each example by its timestep's signal-to-noise.
 */
import * as tf from "@tensorflow/tfjs-core";

export interface DreamBoothLossOptions {
  /** Number of subject examples at the front of the batch; the rest are class examples. */
  instanceCount: number;
  /** λ, the weight of the class-prior term. */
  priorWeight: number;
  /** Optional per-example weights [batch], e.g. min-SNR-γ. */
  exampleWeights?: tf.Tensor1D;
}

export interface DreamBoothLoss {
  loss: tf.Scalar;
  instanceLoss: tf.Scalar;
  /** Absent without prior preservation. */
  priorLoss?: tf.Scalar;
}

export function dreamboothLoss(prediction: tf.Tensor, target: tf.Tensor, options: DreamBoothLossOptions): DreamBoothLoss {
  const { instanceCount, priorWeight, exampleWeights } = options;
  return tf.tidy(() => {
    const batch = prediction.shape[0];
    const reduceAxes = prediction.shape.slice(1).map((_, index) => index + 1);
    let perExample = tf.mean(tf.squaredDifference(prediction, target), reduceAxes) as tf.Tensor1D;
    if (exampleWeights) perExample = tf.mul(perExample, exampleWeights);
    const instanceLoss = tf.mean(tf.slice(perExample, 0, instanceCount)) as tf.Scalar;
    if (batch === instanceCount) return { loss: instanceLoss, instanceLoss };
    const priorLoss = tf.mean(tf.slice(perExample, instanceCount)) as tf.Scalar;
    return { loss: tf.add(instanceLoss, tf.mul(priorLoss, priorWeight)) as tf.Scalar, instanceLoss, priorLoss };
  });
}

export type PredictionType = "epsilon" | "v_prediction";

/**
 * Min-SNR-γ weights per example: `min(snr, γ) / snr` for ε-prediction and
 * `min(snr, γ) / (snr + 1)` for v-prediction, with `snr = ᾱ / (1 − ᾱ)`.
 */
export function minSnrWeights(alphasCumprodAtT: number[], gamma: number, predictionType: PredictionType): number[] {
  return alphasCumprodAtT.map((alphaBar) => {
    const snr = alphaBar / (1 - alphaBar);
    return Math.min(snr, gamma) / (predictionType === "epsilon" ? snr : snr + 1);
  });
}

/**
 * The DreamBooth loss as one coefficient per example, `loss = Σᵢ cᵢ · MSEᵢ`: 1/instanceCount on the
 * subject half, λ/classCount on the class half, times the optional per-example weights. A batch split
 * across replicas sums to the same loss (and gradient) when each replica weighs its examples by their
 * coefficients, whatever share of each half it holds.
 */
export function exampleCoefficients(batch: number, options: { instanceCount: number; priorWeight: number; exampleWeights?: number[] }): number[] {
  const { instanceCount, priorWeight, exampleWeights } = options;
  const classCount = batch - instanceCount;
  return Array.from({ length: batch }, (_, i) => {
    const half = i < instanceCount ? 1 / instanceCount : priorWeight / classCount;
    return half * (exampleWeights?.[i] ?? 1);
  });
}

/** `Σᵢ cᵢ · mean((predictionᵢ − targetᵢ)²)` over the batch dimension. */
export function weightedExampleLoss(prediction: tf.Tensor, target: tf.Tensor, coefficients: number[]): tf.Scalar {
  return tf.tidy(() => {
    const reduceAxes = prediction.shape.slice(1).map((_, index) => index + 1);
    const perExample = tf.mean(tf.squaredDifference(prediction, target), reduceAxes);
    return tf.sum(tf.mul(perExample, tf.tensor1d(coefficients))) as tf.Scalar;
  });
}
