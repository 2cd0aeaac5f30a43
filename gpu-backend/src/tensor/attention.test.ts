import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multiHeadAttention } from "../model/layers.js";
import { fusedAttention } from "./attention.js";
import { initTensorBackend } from "./backend.js";
import { randomInputs, relativeError, valueAndGradients } from "./gradient-check.js";
import { setSpeedSwitches } from "./speed-switches.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));
afterAll(() => setSpeedSwitches({ fusedAttention: true }));

const causalMask = (n: number) => tf.tensor2d(Array.from({ length: n * n }, (_, i) => (i % n > Math.floor(i / n) ? -1e9 : 0)), [n, n]);

const CASES = [
  { name: "self-attention, 2 heads", q: [2, 9, 8], kv: [2, 9, 8], heads: 2 },
  { name: "cross-attention to a longer context, 4 heads", q: [2, 6, 8], kv: [2, 11, 8], heads: 4 },
  { name: "one head (no head transposes)", q: [1, 7, 6], kv: [1, 5, 6], heads: 1 },
  { name: "queries in chunks of 4 (last chunk short)", q: [2, 10, 8], kv: [2, 7, 8], heads: 2, queryChunk: 4 },
  { name: "causal mask (the text encoder)", q: [2, 6, 8], kv: [2, 6, 8], heads: 2, mask: true },
  { name: "causal mask with query chunks", q: [1, 7, 4], kv: [1, 7, 4], heads: 2, mask: true, queryChunk: 3 },
  { name: "keys a multiple of 4 (whole SIMD lanes), 2 heads", q: [2, 16, 8], kv: [2, 12, 8], heads: 2 },
  // The SIMD kernels take head channels four at a time, then one at a time: 6 = 4 + 2, 8 = 4 + 4.
  { name: "6 channels a head, keys not a multiple of 4", q: [2, 9, 12], kv: [2, 13, 12], heads: 2 },
  { name: "8 channels a head, 23 keys", q: [1, 20, 16], kv: [1, 23, 16], heads: 2 },
  { name: "more keys than the SIMD kernels take (the composed route)", q: [1, 3, 4], kv: [1, 300, 4], heads: 1 },
];

// On wasm: with the SIMD softmax-Jacobian kernel and without; on cpu: its JavaScript loop.
describe.each([
  ["wasm", true],
  ["wasm", false],
  ["cpu", true],
])("fusedAttention on %s (wasmSimd %s) equals the composed ops on the cpu backend (value and q/k/v gradients)", (backend, wasmSimd) => {
  afterAll(() => setSpeedSwitches({ wasmSimd: true }));
  for (const c of CASES) {
    it(c.name, async () => {
      const inputs = randomInputs(3, c.q, c.kv, c.kv);
      await tf.setBackend("cpu");
      setSpeedSwitches({ fusedAttention: false });
      const reference = valueAndGradients((q, k, v) => tf.tidy(() => multiHeadAttention(q, k, v, c.heads, c.mask ? causalMask(c.q[1]) : undefined)), inputs);
      setSpeedSwitches({ fusedAttention: true, wasmSimd });
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const got = valueAndGradients(
        (q, k, v) => tf.tidy(() => fusedAttention(q, k, v, c.heads, { mask: c.mask ? causalMask(c.q[1]) : undefined, queryChunk: c.queryChunk })),
        inputs,
      );
      expect(tf.memory().numTensors).toBe(before);
      got.forEach((values, i) => expect(relativeError(values, reference[i])).toBeLessThan(1e-5));
    });
  }
});
