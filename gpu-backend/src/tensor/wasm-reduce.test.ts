import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { Random } from "./random.js";
import { setSpeedSwitches } from "./speed-switches.js";
import { leadingAxes } from "./wasm-reduce.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));
afterAll(() => setSpeedSwitches({ wasmSimd: true }));

describe("Sum over leading axes on wasm (wasmSimd)", () => {
  it("recognises exactly the proper leading prefixes", () => {
    expect(leadingAxes([0, 1, 2], 4)).toBe(3);
    expect(leadingAxes([2, 0, 1], 4)).toBe(3);
    expect(leadingAxes([-4, -3], 4)).toBe(2);
    expect(leadingAxes(0, 2)).toBe(1);
    expect(leadingAxes([0, 1, 2, 3], 4)).toBe(0); // all axes: the stock kernel reduces innermost already
    expect(leadingAxes([1, 2], 4)).toBe(0);
    expect(leadingAxes([0, 2], 3)).toBe(0);
    expect(leadingAxes([3], 4)).toBe(0);
  });

  // Bias-gradient shapes, a column count with a tail after the groups of four, keepDims, and reductions
  // that must go to the stock kernel (inner axes, all axes, a gap).
  const CASES: Array<{ shape: number[]; axis: number | number[]; keepDims?: boolean }> = [
    { shape: [2, 8, 8, 64], axis: [0, 1, 2] },
    { shape: [3, 5, 7], axis: [0, 1] },
    { shape: [4, 6, 10], axis: 0, keepDims: true },
    { shape: [2, 3, 4, 5], axis: [-4, -3] },
    { shape: [2, 3, 4, 5], axis: [1, 2] },
    { shape: [2, 3, 4, 5], axis: [0, 2] },
    { shape: [6, 7], axis: [0, 1] },
  ];
  for (const { shape, axis, keepDims = false } of CASES) {
    it(`sums ${JSON.stringify(shape)} over ${JSON.stringify(axis)}${keepDims ? " (keepDims)" : ""} exactly as the stock kernel and within float32 rounding of the cpu backend`, async () => {
      const values = new Random(9).normalArray(shape.reduce((a, b) => a * b, 1));
      await tf.setBackend("cpu");
      const reference = tf.tidy(() => tf.sum(tf.tensor(values, shape), axis, keepDims).arraySync());
      await tf.setBackend("wasm");
      const run = (wasmSimd: boolean) => {
        setSpeedSwitches({ wasmSimd });
        return tf.tidy(() => {
          const result = tf.sum(tf.tensor(values, shape), axis, keepDims);
          return { shape: result.shape, values: Array.from(result.dataSync()) };
        });
      };
      const before = tf.memory().numTensors;
      const simd = run(true);
      const stock = run(false);
      expect(tf.memory().numTensors).toBe(before);
      expect(simd.shape).toEqual(stock.shape);
      expect(simd.values).toEqual(stock.values);
      const expected = [reference].flat(4) as number[];
      simd.values.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThan(1e-5 * (1 + Math.abs(expected[i]))));
    });
  }
});
