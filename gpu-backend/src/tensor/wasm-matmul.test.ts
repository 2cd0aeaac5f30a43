import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerTrainingKernels } from "./backend.js";
import { Random } from "./random.js";
import { setSpeedSwitches } from "./speed-switches.js";

beforeAll(() => registerTrainingKernels());

const CASES: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
  { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
  { a: [5, 7], b: [3, 7], transposeA: false, transposeB: true },
  { a: [7, 5], b: [7, 3], transposeA: true, transposeB: false },
  { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
  { a: [4, 6, 5], b: [4, 3, 5], transposeA: false, transposeB: true },
  { a: [2, 3, 5, 6], b: [1, 1, 5, 4], transposeA: true, transposeB: false },
  { a: [3, 4, 6], b: [3, 6, 2], transposeA: false, transposeB: false },
  { a: [1, 4, 6], b: [3, 2, 6], transposeA: false, transposeB: true },
  // Sides that are not multiples of the 32-wide transpose blocks.
  { a: [2, 70, 40], b: [2, 70, 33], transposeA: true, transposeB: false },
  { a: [37, 65], b: [65, 37], transposeA: true, transposeB: true },
  // Few rows against a large bᵀ (a linear layer's dx = dy·Wᵀ): with packActivations computed as (b·aᵀ)ᵀ.
  { a: [3, 40], b: [50, 40], transposeA: false, transposeB: true },
  { a: [40, 3], b: [70, 40], transposeA: true, transposeB: true },
  { a: [1, 16, 33], b: [1, 130, 33], transposeA: false, transposeB: true },
  // A narrow aᵀ against a wide b (a linear layer's dW = xᵀ·dy into more channels): also as (bᵀ·a)ᵀ.
  { a: [70, 5], b: [70, 40], transposeA: true, transposeB: false },
  { a: [1, 96, 8], b: [1, 96, 64], transposeA: true, transposeB: false },
];

describe.each([
  [true, true],
  [true, false],
  [false, true],
])("wasm BatchMatMul (transposes made explicit, batches one XNNPACK product at a time), transposeFree %s, packActivations %s", (transposeFree, packActivations) => {
  beforeAll(() => setSpeedSwitches({ transposeFree, packActivations }));
  afterAll(() => setSpeedSwitches({ transposeFree: true, packActivations: true }));
  for (const { a, b, transposeA, transposeB } of CASES) {
    it(`a ${a} ${transposeA ? "ᵀ" : ""}· b ${b}${transposeB ? "ᵀ" : ""} equals the cpu backend`, async () => {
      const random = new Random(2);
      const aValues = random.normalArray(a.reduce((x, y) => x * y));
      const bValues = random.normalArray(b.reduce((x, y) => x * y));
      const product = () => tf.tidy(() => tf.matMul(tf.tensor(aValues, a), tf.tensor(bValues, b), transposeA, transposeB).dataSync());
      await tf.setBackend("cpu");
      const expected = product();
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const got = product();
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(expected.length);
      got.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 4));
    });
  }
});
