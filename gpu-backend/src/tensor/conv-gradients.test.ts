import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerTrainingKernels } from "./backend.js";
import { Random } from "./random.js";
import { setSpeedSwitches } from "./speed-switches.js";

/** Largest absolute difference relative to the largest reference magnitude. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

interface ConvCase {
  name: string;
  input: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number | [number, number];
  pad: "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
  fusedBias?: boolean;
}

const torchPad = (p: number): ConvCase["pad"] => [[0, 0], [p, p], [p, p], [0, 0]];

const CASES: ConvCase[] = [
  { name: "3×3 stride 1, PyTorch padding 1, batch 2, non-square", input: [2, 5, 7, 3], filter: [3, 3, 3, 4], stride: 1, pad: torchPad(1) },
  { name: "3×3 stride 2, PyTorch padding 1, even size (diffusers Downsample2D)", input: [2, 8, 6, 4], filter: [3, 3, 4, 5], stride: 2, pad: torchPad(1) },
  { name: "3×3 stride 2, padding 1, odd size", input: [3, 7, 9, 2], filter: [3, 3, 2, 3], stride: 2, pad: torchPad(1) },
  { name: "3×3 stride 2, asymmetric padding (0,1) as the VAE encoder", input: [2, 8, 8, 3], filter: [3, 3, 3, 2], stride: 2, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] },
  { name: "3×3 stride 2, valid, unused last row", input: [2, 8, 9, 2], filter: [3, 3, 2, 2], stride: 2, pad: "valid" },
  { name: "3×3 'same' stride 1", input: [1, 6, 5, 3], filter: [3, 3, 3, 3], stride: 1, pad: "same" },
  { name: "1×1 stride 1 (proj_in / conv_shortcut)", input: [2, 4, 3, 6], filter: [1, 1, 6, 5], stride: 1, pad: "valid" },
  { name: "non-square 3×1 kernel, stride 1, padding 1", input: [2, 6, 6, 2], filter: [3, 1, 2, 3], stride: 1, pad: [[0, 0], [1, 1], [0, 0], [0, 0]] },
  { name: "1×1 stride 2 (phases without taps get zero gradient)", input: [2, 6, 7, 3], filter: [1, 1, 3, 4], stride: 2, pad: "valid" },
  { name: "5×5 stride 2, padding 2", input: [2, 9, 8, 2], filter: [5, 5, 2, 3], stride: 2, pad: torchPad(2) },
  { name: "3×3 strides (2, 1), padding 1", input: [2, 7, 6, 2], filter: [3, 3, 2, 3], stride: [2, 1], pad: torchPad(1) },
  // Few output positions for the output channels (at most 2·Cout·s², the input gradient's line; the forward's is Cout):
  // with packActivations the input gradient is one product and a col2im. The filter gradient goes by its own line
  // (filterGradientIm2colPays): these 4×4 and 2×2 maps take the im2col, the larger maps above the padded grid.
  { name: "3×3 stride 1, padding 1, 4×4 with between one and two output channels a position (input gradient as a product)", input: [1, 4, 4, 4], filter: [3, 3, 4, 10], stride: 1, pad: torchPad(1) },
  { name: "3×3 stride 1, padding 1, 4×4 with more output channels than positions", input: [1, 4, 4, 8], filter: [3, 3, 8, 32], stride: 1, pad: torchPad(1) },
  { name: "3×3 stride 2, padding 1, batch 2, 4×4 → 2×2 with 16 output channels", input: [2, 4, 4, 6], filter: [3, 3, 6, 16], stride: 2, pad: torchPad(1) },
  { name: "3×3 stride 2, asymmetric padding (0,1), odd 5×5 input, 12 output channels", input: [1, 5, 5, 3], filter: [3, 3, 3, 12], stride: 2, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] },
  { name: "fused conv with bias at 2×2 with more output channels than positions (forward as im2col and one product)", input: [1, 2, 2, 5], filter: [3, 3, 5, 8], stride: 1, pad: torchPad(1), fusedBias: true },
  { name: "fused conv with bias (the path tf.fused.conv2d takes under a tape)", input: [2, 6, 5, 3], filter: [3, 3, 3, 4], stride: 1, pad: torchPad(1), fusedBias: true },
];

/** Gradients of sum(conv(x, w) · probe) w.r.t. x and w (and bias) on the current backend. */
function convGradients(c: ConvCase, x: Float32Array, w: Float32Array, probe: Float32Array, bias: Float32Array): Float32Array[] {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.input);
    const wt = tf.tensor4d(w, c.filter);
    const bt = tf.tensor1d(bias);
    const weighted = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.tensor(probe, y.shape)));
    const gradients = c.fusedBias
      ? tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
          weighted(tf.fused.conv2d({ x: xs as tf.Tensor4D, filter: ws as tf.Tensor4D, bias: bs, strides: c.stride, pad: c.pad })),
        )([xt, wt, bt])
      : tf.grads((xs: tf.Tensor, ws: tf.Tensor) => weighted(tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, c.stride, c.pad)))([xt, wt]);
    return gradients.map((g) => g.dataSync() as Float32Array);
  });
}

/** The forward convolution (with its bias when fused) on the current backend. */
function convForward(c: ConvCase, x: Float32Array, w: Float32Array, bias: Float32Array): Float32Array {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.input);
    const wt = tf.tensor4d(w, c.filter);
    const y = c.fusedBias ? tf.fused.conv2d({ x: xt, filter: wt, bias: tf.tensor1d(bias), strides: c.stride, pad: c.pad }) : tf.conv2d(xt, wt, c.stride, c.pad);
    return y.dataSync() as Float32Array;
  });
}

function outputSize(c: ConvCase): number {
  return tf.tidy(() => tf.conv2d(tf.zeros(c.input) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad).size);
}

beforeAll(async () => {
  registerTrainingKernels();
  await tf.setBackend("cpu");
});

describe.each([true, false])("convolutions and their gradients on wasm (forward and input gradient as products at small sizes with packActivations) match the cpu backend's reference kernels, packActivations %s", (packActivations) => {
  beforeAll(() => setSpeedSwitches({ packActivations }));
  afterAll(() => setSpeedSwitches({ packActivations: true }));
  for (const c of CASES) {
    it(c.name, async () => {
      const random = new Random(7);
      const x = random.normalArray(c.input.reduce((a, b) => a * b));
      const w = random.normalArray(c.filter.reduce((a, b) => a * b));
      const bias = random.normalArray(c.filter[3]);
      await tf.setBackend("cpu");
      const probe = random.normalArray(outputSize(c));
      const reference = convGradients(c, x, w, probe, bias);
      const forward = convForward(c, x, w, bias);
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const rewritten = convGradients(c, x, w, probe, bias);
      expect(relativeError(convForward(c, x, w, bias), forward)).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBe(before);
      expect(relativeError(rewritten[0], reference[0])).toBeLessThan(1e-4);
      expect(relativeError(rewritten[1], reference[1])).toBeLessThan(1e-4);
      if (c.fusedBias) expect(relativeError(rewritten[2], reference[2])).toBeLessThan(1e-4);
    });
  }

  it("agree with central differences of the loss (stride 2, padding 1, batch 2)", async () => {
    const c = CASES[1];
    const random = new Random(11);
    const x = random.normalArray(c.input.reduce((a, b) => a * b));
    const w = random.normalArray(c.filter.reduce((a, b) => a * b));
    await tf.setBackend("wasm");
    const probe = random.normalArray(outputSize(c));
    const [dx, dw] = convGradients(c, x, w, probe, new Float32Array(c.filter[3]));
    // The loss is linear in x (and in w), so a central difference with step 1 is exact up to float64 rounding.
    const loss = (xs: Float32Array, ws: Float32Array) =>
      tf.tidy(() => tf.sum(tf.mul(tf.conv2d(tf.tensor4d(xs, c.input), tf.tensor4d(ws, c.filter), c.stride, c.pad), tf.tensor(probe, [2, 4, 3, 5]))).dataSync()[0]);
    for (const index of [0, 17, 100, x.length - 1]) {
      const plus = x.slice();
      const minus = x.slice();
      plus[index] += 1;
      minus[index] -= 1;
      expect(Math.abs((loss(plus, w) - loss(minus, w)) / 2 - dx[index])).toBeLessThan(1e-3 * Math.max(1, Math.abs(dx[index])));
    }
    for (const index of [0, 33, w.length - 1]) {
      const plus = w.slice();
      const minus = w.slice();
      plus[index] += 1;
      minus[index] -= 1;
      expect(Math.abs((loss(x, plus) - loss(x, minus)) / 2 - dw[index])).toBeLessThan(1e-3 * Math.max(1, Math.abs(dw[index])));
    }
  });
});

describe("a small convolutional training step", () => {
  it("gives the same gradients on wasm as on cpu, and prints both step times", async () => {
    const random = new Random(5);
    const input = random.normalArray(2 * 8 * 8 * 8);
    const filters = [random.normalArray(3 * 3 * 8 * 16), random.normalArray(3 * 3 * 16 * 16), random.normalArray(3 * 3 * 16 * 8)];
    const step = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(input, [2, 8, 8, 8]);
        const ws = filters.map((w, i) => tf.tensor4d(w, [3, 3, [8, 16, 16][i], [16, 16, 8][i]]));
        const loss = (...variables: tf.Tensor[]) =>
          tf.mean(tf.square(variables.reduce((h: tf.Tensor4D, w, i) => tf.relu(tf.conv2d(h, w as tf.Tensor4D, i === 1 ? 2 : 1, [[0, 0], [1, 1], [1, 1], [0, 0]])), x)));
        return tf.grads(loss)(ws).map((g) => g.dataSync() as Float32Array);
      });
    const timed = async (backend: string) => {
      await tf.setBackend(backend);
      // wasm sets up XNNPACK operators on first use; the cpu backend has nothing to warm up.
      if (backend === "wasm") step();
      const start = performance.now();
      const gradients = step();
      return { gradients, ms: performance.now() - start };
    };
    const cpu = await timed("cpu");
    const wasm = await timed("wasm");
    cpu.gradients.forEach((reference, i) => expect(relativeError(wasm.gradients[i], reference)).toBeLessThan(1e-4));
    console.log(`3-conv training step (8→16→16→8 ch, 8×8, stride 2 in the middle, batch 2): wasm ${wasm.ms.toFixed(1)} ms, cpu ${cpu.ms.toFixed(1)} ms`);
  });
});
