import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { registerTrainingKernels } from "./backend.js";
import { Random } from "./random.js";
import { upsampleNearest2x } from "./upsample.js";

/**
 * Every op the UNet, VAE and CLIP text encoder use, as a function of one [2, 4, 6, 3] input. Each
 * one's gradient must run on wasm and match the cpu backend; a kernel missing on wasm throws here.
 */
const OPS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  conv2d: (x) => tf.conv2d(x as tf.Tensor4D, tf.ones([3, 3, 3, 4]), 1, [[0, 0], [1, 1], [1, 1], [0, 0]]),
  "fused conv2d with bias": (x) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: tf.ones([1, 1, 3, 4]), bias: tf.ones([4]), strides: 1, pad: "valid" }),
  "group norm statistics": (x) => tf.moments(x.reshape([2, 24, 3]), [1], true).variance,
  rsqrt: (x) => tf.rsqrt(tf.add(tf.square(x), 1)),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  "exact gelu": (x) => tf.mul(x, tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  "quick gelu": (x) => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))),
  softmax: (x) => tf.softmax(x),
  "batched matMul": (x) => tf.matMul(x.reshape([2, 12, 6]) as tf.Tensor3D, x.reshape([2, 12, 6]) as tf.Tensor3D, false, true),
  transpose: (x) => tf.transpose(x, [0, 3, 1, 2]),
  "slice and split": (x) => tf.add(tf.slice(x, [0, 1, 1, 0], [2, 2, 3, 3]), tf.split(x, 2, 1)[1].slice([0, 0, 0, 0], [2, 2, 3, 3])),
  concat: (x) => tf.concat([x, tf.square(x)], 3),
  "sin/cos (timestep embedding)": (x) => tf.add(tf.sin(x), tf.cos(x)),
  "squared difference (MSE)": (x) => tf.squaredDifference(x, tf.onesLike(x)),
  "max (attention stabiliser)": (x) => tf.max(x, -1),
  "gather (token embedding)": (x) => tf.gather(x.reshape([-1, 3]), [0, 2, 2, 5]),
  "nearest ×2 upsampling": (x) => upsampleNearest2x(x as tf.Tensor4D),
  "pad then slice": (x) => tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]).slice([0, 1, 1, 0], [2, 4, 6, 3]),
  "broadcast add/mul/div": (x) => tf.div(tf.mul(x, tf.ones([3])), tf.add(tf.abs(x), tf.ones([1, 4, 1, 1]))),
};

function gradientOf(op: (x: tf.Tensor) => tf.Tensor, x: Float32Array): Float32Array {
  return tf.tidy(() => {
    const input = tf.tensor4d(x, [2, 4, 6, 3]);
    const probeShape = op(input).shape;
    const probe = tf.tensor(new Random(9).normalArray(probeShape.reduce((a, b) => a * b, 1)), probeShape);
    return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), probe)))(input).dataSync() as Float32Array;
  });
}

beforeAll(() => registerTrainingKernels());

describe("every op our networks use has a working gradient on wasm", () => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, async () => {
      const x = new Random(4).normalArray(144);
      await tf.setBackend("cpu");
      const reference = gradientOf(op, x);
      await tf.setBackend("wasm");
      const got = gradientOf(op, x);
      const scale = Math.max(...reference.map(Math.abs));
      const worst = Math.max(...got.map((value, i) => Math.abs(value - reference[i])));
      expect(worst / scale).toBeLessThan(1e-4);
    });
  }
});
