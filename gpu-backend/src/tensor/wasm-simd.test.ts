import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adamWStep, clipScale, createAdamWState, gradientNorm } from "../dreambooth/optimizer.js";
import { initTensorBackend } from "./backend.js";
import { Random } from "./random.js";
import { setSpeedSwitches } from "./speed-switches.js";
import { simdKernelsFor } from "./wasm-simd.js";

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  await tf.setBackend("wasm");
});
afterAll(() => setSpeedSwitches({ wasmSimd: true, fusedAdamW: true }));

/** Lengths with and without a remainder after the groups of four (the loops' scalar tails). */
const SHAPES = [[3, 3, 4, 8], [7], [16, 24], [5, 3], [1]];

/** Three clipped AdamW steps from fixed parameters and gradients; the parameters, moments and last norm. */
function threeSteps() {
  const random = new Random(11);
  const parameters = new Map(SHAPES.map((shape, i) => [`p${i}`, tf.tidy(() => tf.variable(random.normal(shape)))]));
  const state = createAdamWState(parameters);
  let norm = 0;
  for (const [step, lr] of [1e-2, 5e-3, 2e-3].entries()) {
    const gradients = new Map(SHAPES.map((shape, i) => [`p${i}`, tf.tidy(() => tf.mul(random.normal(shape), step + 1))]));
    norm = gradientNorm(gradients);
    adamWStep(parameters, gradients, state, lr, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }, clipScale(norm, 4));
    tf.dispose([...gradients.values()]);
  }
  const read = (tensors: Iterable<tf.Tensor>) => [...tensors].map((tensor) => Float32Array.from(tensor.dataSync() as Float32Array));
  const result = { norm, values: read([...parameters.values(), ...state.firstMoment.values(), ...state.secondMoment.values()]) };
  tf.dispose([...parameters.values(), ...state.firstMoment.values(), ...state.secondMoment.values()]);
  return result;
}

/** The wasm backend's own view of a tensor's memory. */
const heapView = (x: tf.Tensor) => (tf.backend() as unknown as { typedArrayFromHeap(info: tf.TensorInfo): Float32Array }).typedArrayFromHeap(x);

const relativeL2 = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / b.reduce((s, v) => s + v * v, 0));

describe("WebAssembly SIMD loops on the wasm heap (wasmSimd)", () => {
  it("run on views of the backend's heap and on nothing else", () => {
    const x = tf.tensor1d([1, 2, 3]);
    const onHeap = heapView(x);
    expect(simdKernelsFor(onHeap)).not.toBeNull();
    expect(simdKernelsFor(new Float32Array(3))).toBeNull();
    setSpeedSwitches({ wasmSimd: false });
    expect(simdKernelsFor(onHeap)).toBeNull();
    setSpeedSwitches({ wasmSimd: true });
    x.dispose();
  });

  it("sum squares as the JavaScript loop does, tails included", () => {
    const random = new Random(3);
    for (const length of [1, 3, 4, 5, 1027]) {
      const x = random.normal([length]);
      const expected = Array.from(x.dataSync()).reduce((sum, value) => sum + value * value, 0);
      const onHeap = heapView(x);
      expect(Math.abs(simdKernelsFor(onHeap)!.squaredSum(onHeap) / expected - 1)).toBeLessThan(1e-12);
      x.dispose();
    }
  });

  it("transpose matrices exactly, edges included, in place of other data", () => {
    const random = new Random(5);
    for (const [rows, cols] of [[1, 1], [3, 5], [4, 8], [9, 13], [32, 6], [6, 37], [67, 66]]) {
      // Two matrices in one tensor: the second one's start is not 16-byte aligned when rows·cols is odd.
      const x = random.normal([2, rows, cols]);
      const out = tf.fill([3 + rows * cols], -1);
      const [source, target] = [heapView(x), heapView(out)];
      simdKernelsFor(source, target)!.transpose(source, rows * cols, rows, cols, target, 3);
      const values = x.dataSync();
      const expected = Float32Array.from({ length: rows * cols }, (_, i) => values[rows * cols + (i % rows) * cols + Math.floor(i / rows)]);
      const written = out.dataSync();
      expect(Array.from(written.subarray(0, 3))).toEqual([-1, -1, -1]);
      expect(Array.from(written.subarray(3))).toEqual(Array.from(expected));
      tf.dispose([x, out]);
    }
  });

  it("take the same AdamW steps as the JavaScript loop and as the composed ops", () => {
    const tensorsBefore = tf.memory().numTensors;
    const simd = threeSteps();
    setSpeedSwitches({ wasmSimd: false });
    const javascript = threeSteps();
    setSpeedSwitches({ fusedAdamW: false });
    const composed = threeSteps();
    setSpeedSwitches({ wasmSimd: true, fusedAdamW: true });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(simd.norm).toBeGreaterThan(4); // the clipping factor is in play
    expect(Math.abs(simd.norm / javascript.norm - 1)).toBeLessThan(1e-12);
    expect(Math.abs(simd.norm / composed.norm - 1)).toBeLessThan(1e-6);
    for (const [i, values] of simd.values.entries()) {
      expect(relativeL2(values, javascript.values[i])).toBeLessThan(1e-6);
      expect(relativeL2(values, composed.values[i])).toBeLessThan(1e-6);
    }
    // The parameters moved: equal because every path updates them, not because none does.
    const start = tf.tidy(() => new Random(11).normal(SHAPES[0]).dataSync() as Float32Array);
    expect(relativeL2(simd.values[0], start)).toBeGreaterThan(1e-3);
  });
});
