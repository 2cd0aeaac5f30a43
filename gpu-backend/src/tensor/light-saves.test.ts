import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { Random } from "./random.js";
import { setSpeedSwitches } from "./speed-switches.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));
afterAll(async () => {
  setSpeedSwitches({ lightSaves: true });
  await tf.setBackend("wasm");
});

const random = new Random(3);
const x = random.normalArray(2 * 6 * 6 * 4);
const w1 = random.normalArray(3 * 3 * 4 * 8);
const w2 = random.normalArray(8 * 5);
const b1 = random.normalArray(8);
const b2 = random.normalArray(5);

/**
 * A small network whose kernels save inputs and outputs (conv, matMul, exp, softmax, sigmoid) and whose
 * fused conv and fused matMul save through tf.customGrad, its gradients (biases included).
 */
function gradients(): Float32Array[] {
  return tf.tidy(() => {
    const loss = (input: tf.Tensor, first: tf.Tensor, second: tf.Tensor, firstBias: tf.Tensor, secondBias: tf.Tensor) => {
      const plain = tf.sigmoid(tf.conv2d(input as tf.Tensor4D, first as tf.Tensor4D, 1, "same"));
      const fused = tf.fused.conv2d({ x: input as tf.Tensor4D, filter: first as tf.Tensor4D, bias: firstBias, strides: 1, pad: "same" });
      const h = tf.add(plain, tf.sigmoid(fused)).reshape([72, 8]);
      const tokens = tf.add(tf.matMul(h, second as tf.Tensor2D), tf.fused.matMul({ a: h as tf.Tensor2D, b: second as tf.Tensor2D, bias: secondBias }));
      return tf.sum(tf.mul(tf.softmax(tokens), tf.exp(tf.mul(tokens, 0.1))));
    };
    const inputs = [tf.tensor4d(x, [2, 6, 6, 4]), tf.tensor4d(w1, [3, 3, 4, 8]), tf.tensor2d(w2, [8, 5]), tf.tensor1d(b1), tf.tensor1d(b2)];
    return tf.grads(loss)(inputs).map((g) => g.dataSync() as Float32Array);
  });
}

describe.each(["wasm", "cpu"])("lightSaves on %s", (backend) => {
  beforeAll(() => tf.setBackend(backend));

  it("gives the same gradients, bit for bit, as the engine's clones, and leaves no tensor or byte behind", () => {
    setSpeedSwitches({ lightSaves: false });
    const reference = gradients();
    setSpeedSwitches({ lightSaves: true });
    const { numTensors, numBytes } = tf.memory();
    const shared = gradients();
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(tf.memory().numBytes).toBe(numBytes);
    shared.forEach((values, i) => expect(Array.from(values)).toEqual(Array.from(reference[i])));
  });

  it("keeps a saved output alive when the caller disposes the original (the reference count, not the handle)", () => {
    setSpeedSwitches({ lightSaves: true });
    const values = [0.5, -1, 2];
    const [dx] = tf.tidy(() =>
      tf
        .grads((input: tf.Tensor) => {
          const y = tf.exp(input); // Exp's gradient reads its saved output
          const total = tf.sum(tf.mul(y, 1));
          y.dispose();
          return total;
        })([tf.tensor1d(values)])
        .map((g) => Array.from(g.dataSync())),
    );
    dx.forEach((value, i) => expect(value).toBeCloseTo(Math.exp(values[i]), 5));
  });

  it("runs no Identity kernel for the saves", async () => {
    const identities = async (lightSaves: boolean) => {
      setSpeedSwitches({ lightSaves });
      const profile = await tf.profile(() => {
        gradients();
        return [];
      });
      return profile.kernels.filter((kernel) => kernel.name === "Identity").length;
    };
    const stock = await identities(false);
    const light = await identities(true);
    expect(stock).toBeGreaterThan(10);
    expect(light).toBe(0);
  });

  it("leaves tf.clone in a forward pass a clone the gradient flows through", () => {
    setSpeedSwitches({ lightSaves: true });
    const [dx] = tf.tidy(() =>
      tf.grads((input: tf.Tensor) => {
        const fused = tf.fused.matMul({ a: tf.clone(input) as tf.Tensor2D, b: tf.ones([2, 1]) });
        return tf.sum(tf.mul(fused, fused));
      })([tf.tensor2d([[1, 2]])]).map((g) => Array.from(g.dataSync())),
    );
    // d/dx (x·1)² = 2·(x₁ + x₂) for each element
    expect(dx).toEqual([6, 6]);
  });
});
