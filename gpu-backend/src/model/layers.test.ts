import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Conv2d, gelu, GroupNorm, LayerNorm, multiHeadAttention, quickGelu } from "./layers.js";
import { relativeL2, useBackend } from "./parity-fixtures.js";
import { ParamStore, Scope } from "./params.js";

beforeAll(async () => {
  await useBackend("wasm");
});

const scope = () => new Scope(new ParamStore({ kind: "random", seed: 11 }), "layer");

/** PyTorch's Conv2d written out as loops over NHWC data: the reference for padding and stride. */
function referenceConv(x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor1D, stride: number, [top, bottom, left, right]: number[]) {
  const [batch, height, width, inChannels] = x.shape;
  const [kernel, , , outChannels] = weight.shape;
  const xs = x.arraySync();
  const ws = weight.arraySync();
  const bs = bias.arraySync();
  const outHeight = Math.floor((height + top + bottom - kernel) / stride) + 1;
  const outWidth = Math.floor((width + left + right - kernel) / stride) + 1;
  const out: number[] = [];
  for (let b = 0; b < batch; b++)
    for (let oy = 0; oy < outHeight; oy++)
      for (let ox = 0; ox < outWidth; ox++)
        for (let o = 0; o < outChannels; o++) {
          let sum = bs[o];
          for (let ky = 0; ky < kernel; ky++)
            for (let kx = 0; kx < kernel; kx++) {
              const y = oy * stride + ky - top;
              const xx = ox * stride + kx - left;
              if (y < 0 || y >= height || xx < 0 || xx >= width) continue;
              for (let i = 0; i < inChannels; i++) sum += xs[b][y][xx][i] * ws[ky][kx][i][o];
            }
          out.push(sum);
        }
  return { shape: [batch, outHeight, outWidth, outChannels], data: out };
}

describe("Conv2d", () => {
  it.each([
    ["3×3 stride 2, padding 1 on both sides (UNet downsample, not TF 'same')", 3, 2, 1 as number | [number, number, number, number]],
    ["3×3 stride 2, pad right/bottom only (VAE downsample)", 3, 2, [0, 1, 0, 1] as [number, number, number, number]],
    ["3×3 stride 1, padding 1", 3, 1, 1],
    ["1×1", 1, 1, 0],
  ])("matches PyTorch semantics: %s", (_, kernel, stride, padding) => {
    const conv = new Conv2d(scope(), 3, 4, kernel, { stride, padding });
    const x = tf.randomNormal([2, 6, 7, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const y = conv.forward(x);
    const pads = typeof padding === "number" ? [padding, padding, padding, padding] : padding;
    const reference = referenceConv(x, conv.weight as tf.Tensor4D, conv.bias as tf.Tensor1D, stride, pads);
    expect(y.shape).toEqual(reference.shape);
    expect(relativeL2(y.dataSync(), reference.data)).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });
});

describe("normalisation", () => {
  it("GroupNorm normalises each (sample, group) over H, W and the group's channels with its eps", () => {
    const norm = new GroupNorm(scope(), 2, 4, 1e-6);
    norm.weight.assign(tf.tensor1d([1, 2, 3, 4]));
    norm.bias.assign(tf.tensor1d([0, 0, 0, 1]));
    const x = tf.randomNormal([2, 3, 3, 4], 2, 3, "float32", 2) as tf.Tensor4D;
    const xs = x.arraySync();
    const expected: number[][][][] = xs.map((sample) => sample.map((row) => row.map((pixel) => pixel.slice())));
    for (let b = 0; b < 2; b++)
      for (let g = 0; g < 2; g++) {
        const members = xs[b].flatMap((row) => row.flatMap((pixel) => pixel.slice(2 * g, 2 * g + 2)));
        const mean = members.reduce((a, v) => a + v, 0) / members.length;
        const variance = members.reduce((a, v) => a + (v - mean) ** 2, 0) / members.length;
        for (let y = 0; y < 3; y++)
          for (let w = 0; w < 3; w++)
            for (let c = 2 * g; c < 2 * g + 2; c++) {
              expected[b][y][w][c] = ((xs[b][y][w][c] - mean) / Math.sqrt(variance + 1e-6)) * [1, 2, 3, 4][c] + [0, 0, 0, 1][c];
            }
      }
    const y = norm.forward(x);
    expect(relativeL2(y.dataSync(), expected.flat(3))).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });

  it("LayerNorm normalises the last axis", () => {
    const norm = new LayerNorm(scope(), 3, 1e-5);
    const y = norm.forward(tf.tensor2d([[1, 2, 3]]));
    const s = Math.sqrt(2 / 3 + 1e-5);
    expect(relativeL2(y.dataSync(), [-1 / s, 0, 1 / s])).toBeLessThan(1e-6);
    y.dispose();
  });
});

describe("activations", () => {
  it("gelu is the exact erf form, quick_gelu is x·σ(1.702x)", () => {
    const x = tf.tensor1d([1, -0.5, 3]);
    // Φ-based values: x·(1 + erf(x/√2))/2.
    expect(relativeL2(gelu(x).dataSync(), [0.8413447460685429, -0.15426876936299347, 2.9959502751400385])).toBeLessThan(1e-6);
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    expect(relativeL2(quickGelu(x).dataSync(), [1, -0.5, 3].map((v) => v * sigmoid(1.702 * v)))).toBeLessThan(1e-6);
    x.dispose();
  });
});

describe("multiHeadAttention", () => {
  it("splits channels into heads, each softmax(q·kᵀ/√d)·v, and applies an additive mask", () => {
    const [batch, queries, keys, channels, heads] = [2, 3, 4, 6, 2];
    const q = tf.randomNormal([batch, queries, channels], 0, 1, "float32", 3);
    const k = tf.randomNormal([batch, keys, channels], 0, 1, "float32", 4);
    const v = tf.randomNormal([batch, keys, channels], 0, 1, "float32", 5);
    const mask = tf.tensor4d([0, 0, -1e9, 0], [1, 1, 1, keys]);
    const [qs, ks, vs] = [q.arraySync(), k.arraySync(), v.arraySync()] as number[][][][];
    const masked = [false, false, true, false];
    const d = channels / heads;
    const expected: number[] = [];
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < queries; i++)
        for (let h = 0; h < heads; h++) {
          const scores = ks[b].map((key, j) =>
            masked[j] ? -Infinity : key.slice(h * d, h * d + d).reduce((a, kv, c) => a + kv * qs[b][i][h * d + c], 0) / Math.sqrt(d),
          );
          const max = Math.max(...scores);
          const weights = scores.map((s) => Math.exp(s - max));
          const total = weights.reduce((a, w) => a + w, 0);
          for (let c = 0; c < d; c++) expected.push(weights.reduce((a, w, j) => a + (w / total) * vs[b][j][h * d + c], 0));
        }
    const out = multiHeadAttention(q, k, v, heads, mask);
    expect(out.shape).toEqual([batch, queries, channels]);
    expect(relativeL2(out.dataSync(), expected)).toBeLessThan(1e-5);
    tf.dispose([q, k, v, mask, out]);
  });
});

describe("frozen weights under a gradient tape", () => {
  /** x's gradient of a fixed weighted sum of the layer's output, and the names of the kernels that ran. */
  async function inputGradient(layer: Conv2d, x: tf.Tensor4D) {
    const info = await tf.profile(() =>
      tf.grad((input: tf.Tensor) => {
        const y = layer.forward(input as tf.Tensor4D);
        return tf.sum(tf.mul(y, tf.linspace(-1, 1, y.size).reshape(y.shape)));
      })(x),
    );
    return { gradient: (info.result as tf.Tensor).dataSync(), kernels: info.kernels.map((kernel) => kernel.name) };
  }

  it("never computes a frozen weight's gradient, and gives x the same gradient as the fused kernel", async () => {
    const conv = new Conv2d(scope(), 6, 5, 3, { padding: 1 });
    const conv2 = new Conv2d(scope(), 6, 5, 3, { stride: 2, padding: 1 });
    const x = tf.randomNormal([2, 8, 8, 6], 0, 1, "float32", 3) as tf.Tensor4D;
    for (const layer of [conv, conv2]) {
      const frozen = await inputGradient(layer, x);
      expect(frozen.kernels).not.toContain("Conv2DBackpropFilter");
      layer.weight.trainable = true;
      const trained = await inputGradient(layer, x);
      layer.weight.trainable = false;
      expect(trained.kernels).toContain("Conv2DBackpropFilter");
      expect(relativeL2(frozen.gradient, trained.gradient)).toBeLessThan(1e-6);
    }
  });

  it("keeps the fused kernel when no gradient is recorded", () => {
    const conv = new Conv2d(scope(), 6, 5, 3, { padding: 1 });
    const x = tf.randomNormal([1, 4, 4, 6], 0, 1, "float32", 4) as tf.Tensor4D;
    return tf.profile(() => conv.forward(x)).then((info) => expect(info.kernels.map((kernel) => kernel.name)).toContain("FusedConv2D"));
  });
});
