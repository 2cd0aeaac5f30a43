/**
 * Test support for the hand-written kernels and gradients: the value of a function and its gradient
 * with respect to every input, computed on whichever backend is current, and the error measure every
 * check uses (largest absolute difference over the largest reference magnitude).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Random } from "./random.js";

export interface Input {
  values: Float32Array;
  shape: number[];
}

/** Random inputs of the given shapes (seeded: the same on every backend). */
export function randomInputs(seed: number, ...shapes: number[][]): Input[] {
  const random = new Random(seed);
  return shapes.map((shape) => ({ values: random.normalArray(shape.reduce((a, b) => a * b, 1)), shape }));
}

/** [f(inputs), ∂/∂inputᵢ sum(f(inputs) · probe)…] on the current backend, probe seeded by `probeSeed`. */
export function valueAndGradients(f: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: Input[], probeSeed = 9): Float32Array[] {
  return tf.tidy(() => {
    const tensors = inputs.map(({ values, shape }) => tf.tensor(values, shape));
    const value = f(...tensors);
    const probe = tf.tensor(new Random(probeSeed).normalArray(value.size), value.shape);
    const gradients = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), probe)))(tensors);
    return [value, ...gradients].map((t) => Float32Array.from(t.dataSync()));
  });
}

export function relativeError(actual: Float32Array, expected: Float32Array): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return difference / scale;
}
