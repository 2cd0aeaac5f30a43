/**
 * Nearest-neighbour ×2 upsampling (diffusers' `Upsample2D` with `interpolate(scale_factor=2.0,
 * mode="nearest")`) built from concat and reshape, so its gradient is the sum of each 2×2 block on
 * every backend. tf.image.resizeNearestNeighbor would do the same forward, but its gradient kernel in
 * tfjs-backend-cpu 4.22 (`ResizeNearestNeighborGrad`) is wrong for batch > 1, and concat/reshape are
 * plain copies that every backend runs fast.
 */
import * as tf from "@tensorflow/tfjs-core";

/** [N, H, W, C] → [N, 2H, 2W, C], each input pixel repeated over a 2×2 block. */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, height, width, channels] = x.shape;
    // Repeating along channels then reading [W, 2, C] as [2W, C] doubles the width in place…
    const wide = tf.concat([x, x], 3).reshape([batch, height, 1, 2 * width * channels]);
    // …and stacking each widened row twice doubles the height the same way.
    return tf.concat([wide, wide], 2).reshape([batch, 2 * height, 2 * width, channels]);
  });
}
