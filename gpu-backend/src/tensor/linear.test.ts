import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { randomInputs, relativeError, valueAndGradients } from "./gradient-check.js";
import { fusedLinear } from "./linear.js";

beforeAll(() => initTensorBackend({ requested: "wasm", log: () => {} }));

const composed = (x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor) => {
  const [inFeatures, outFeatures] = weight.shape;
  const y = tf.matMul(tf.reshape(x, [-1, inFeatures]), weight as tf.Tensor2D);
  return tf.reshape(bias ? tf.add(y, bias) : y, [...x.shape.slice(0, -1), outFeatures]);
};

describe("fused linear on wasm equals the composed ops on the cpu backend", () => {
  it.each([
    ["[2, 5, 6] · [6, 4] + b", [2, 5, 6], [6, 4], true],
    ["[3, 8] · [8, 12] + b", [3, 8], [8, 12], true],
    ["[2, 2, 3, 5] · [5, 7], no bias", [2, 2, 3, 5], [5, 7], false],
  ] as const)("value and gradients of %s", async (_label, xShape, wShape, withBias) => {
    const inputs = randomInputs(3, [...xShape], [...wShape], ...(withBias ? [[wShape[1]]] : []));
    await tf.setBackend("cpu");
    const reference = valueAndGradients((x, w, b) => composed(x, w, b), inputs);
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const got = valueAndGradients((x, w, b) => fusedLinear(x, w as tf.Tensor2D, b as tf.Tensor1D | undefined), inputs);
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toHaveLength(withBias ? 4 : 3);
    got.forEach((values, i) => expect(relativeError(values, reference[i])).toBeLessThan(1e-5));
  });

  it("puts one entry on the tape where the composed layer puts several", () => {
    const [x, w, b] = [tf.ones([2, 3, 4]), tf.variable(tf.ones([4, 5])), tf.variable(tf.ones([5]))];
    const kernelsOf = (f: () => tf.Tensor) => {
      let kernels = 0;
      const engine = tf.engine();
      const run = engine.runKernel.bind(engine);
      engine.runKernel = ((...args: Parameters<typeof run>) => (kernels++, run(...args))) as typeof run;
      try {
        tf.dispose(tf.variableGrads(() => tf.sum(f()) as tf.Scalar, [w, b]).grads);
      } finally {
        engine.runKernel = run;
      }
      return kernels;
    };
    const fused = kernelsOf(() => fusedLinear(x, w as tf.Tensor2D, b as tf.Tensor1D));
    const plain = kernelsOf(() => tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [-1, 4]) as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }), [2, 3, 5]));
    expect(fused).toBeLessThan(plain);
    tf.dispose([x, w, b]);
  });
});
