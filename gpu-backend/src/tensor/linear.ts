/**
 * A linear layer, x·W + b over x's last axis, as one tf.customGrad. Composed, it is a Reshape to rows,
 * tfjs' fused matMul (which reshapes both operands to 3-D and its result back, itself a custom
 * gradient) and a Reshape back: about fifteen kernels and a dozen tape entries a layer a training step,
 * most of them Reshapes and their gradients. Here the tape holds one entry, and the backward pass is
 * the two products and the bias sum it needs. The same kernels do the arithmetic (XNNPACK's fused
 * product forward, BatchMatMul backward), so the values are the composed ones.
 */
import * as tf from "@tensorflow/tfjs-core";

/** x [..., in] · weight [in, out] (+ bias [out]) → [..., out], with its own gradient. */
export function fusedLinear(x: tf.Tensor, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor {
  const [inFeatures, outFeatures] = weight.shape;
  const shape = [...x.shape.slice(0, -1), outFeatures];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [input, w, b] = args.slice(0, -1) as [tf.Tensor, tf.Tensor2D, tf.Tensor1D | undefined];
    // XNNPACK's product with the bias added in, called as the kernel: tf.fused.matMul would reshape
    // to 3-D and back again, as another custom gradient.
    const rows = tf.reshape(input, [1, -1, inFeatures]);
    const product = tf.engine().runKernel(
      "_FusedMatMul",
      { a: rows, b: tf.reshape(w, [1, inFeatures, outFeatures]), ...(b ? { bias: b } : {}) },
      { transposeA: false, transposeB: false, activation: "linear" },
    ) as tf.Tensor;
    save([rows, w]);
    return {
      value: tf.reshape(product, shape),
      gradFunc: (dy: tf.Tensor, [savedRows, savedWeight]: tf.Tensor[]) => {
        const dRows = tf.reshape(dy, [-1, outFeatures]) as tf.Tensor2D;
        const dx = tf.reshape(tf.matMul(dRows, savedWeight as tf.Tensor2D, false, true), x.shape);
        const dWeight = tf.matMul(tf.reshape(savedRows, [-1, inFeatures]) as tf.Tensor2D, dRows, true, false);
        return b ? [dx, dWeight, tf.sum(dRows, 0)] : [dx, dWeight];
      },
    };
  });
  return bias ? op(x, weight, bias) : op(x, weight);
}
