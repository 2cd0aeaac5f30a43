import * as tf from "@tensorflow/tfjs-core";

/**
 * The values of the tensor `compute` makes, its intermediates freed. The tensor leaves the tidy, not its
 * values: tf.tidy walks whatever it returns looking for tensors, a typed array index by index (160 ms
 * for a 512×512 image's pixels, against 2 ms for the read itself).
 */
export function tidyValues(compute: () => tf.Tensor): Float32Array {
  const result = tf.tidy(compute);
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return values;
}
