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

/** A small network whose kernels save inputs and outputs (conv, matMul, exp, softmax, sigmoid), its gradients. */
function gradients(): Float32Array[] {
  return tf.tidy(() => {
    const loss = (input: tf.Tensor, first: tf.Tensor, second: tf.Tensor) => {
      const h = tf.sigmoid(tf.conv2d(input as tf.Tensor4D, first as tf.Tensor4D, 1, "same"));
      const tokens = tf.matMul(h.reshape([72, 8]), second as tf.Tensor2D);
      return tf.sum(tf.mul(tf.softmax(tokens), tf.exp(tf.mul(tokens, 0.1))));
    };
    return tf.grads(loss)([tf.tensor4d(x, [2, 6, 6, 4]), tf.tensor4d(w1, [3, 3, 4, 8]), tf.tensor2d(w2, [8, 5])]).map((g) => g.dataSync() as Float32Array);
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
    expect(light).toBeLessThan(stock / 2);
  });
});
