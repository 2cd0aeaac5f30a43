/**
 * Multi-head attention with the queries in slices, so the [queries × keys] attention matrix never exists
 * whole — neither in the forward pass nor in training's backward pass. At 512 px SD1.5's first-level
 * self-attention is 4096 × 4096 per head: 8 heads × 2 examples × 64 MiB = 1 GiB of scores, and autodiff
 * would keep the softmax of every such layer until the backward pass. Chunking alone bounds only the
 * forward; so this is one custom-gradient op (as in Rabe & Staats 2021, "Self-attention does not need
 * O(n²) memory") that keeps only q, k, v and, going backwards, recomputes each slice's probabilities P
 * and applies softmax's gradient dS = P ⊙ (dP − rowsum(dP ⊙ P)). Results equal `multiHeadAttention`'s
 * up to float rounding.
 */
import * as tf from "@tensorflow/tfjs-core";

/** softmax(q_i kᵀ) for the queries [start, start + size) of heads-major q [BH, N, d] (q already scaled). */
function sliceProbabilities(q: tf.Tensor3D, k: tf.Tensor3D, start: number, size: number): { qSlice: tf.Tensor3D; probabilities: tf.Tensor3D } {
  const qSlice = tf.slice(q, [0, start, 0], [-1, size, -1]);
  return { qSlice, probabilities: tf.softmax(tf.matMul(qSlice, k, false, true)) as tf.Tensor3D };
}

function sliceStarts(queries: number, chunk: number): number[] {
  return Array.from({ length: Math.ceil(queries / chunk) }, (_, i) => i * chunk);
}

/** Attention over heads-major tensors: q [BH, Nq, d] (pre-scaled), k/v [BH, Nk, d] → [BH, Nq, d]. */
function slicedAttention(chunk: number): (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D {
  return tf.customGrad((q, k, v, save) => {
    const [query, key, value] = [q, k, v] as tf.Tensor3D[];
    (save as tf.GradSaveFunc)([query, key, value]);
    const queries = query.shape[1];
    const slices = sliceStarts(queries, chunk).map((start) =>
      tf.tidy(() => tf.matMul(sliceProbabilities(query, key, start, Math.min(chunk, queries - start)).probabilities, value)),
    );
    return {
      value: tf.concat(slices, 1) as tf.Tensor3D,
      gradFunc: (dy, saved) => {
        const [qSaved, kSaved, vSaved] = saved as tf.Tensor3D[];
        let dk = tf.zerosLike(kSaved);
        let dv = tf.zerosLike(vSaved);
        const dq: tf.Tensor3D[] = [];
        for (const start of sliceStarts(queries, chunk)) {
          const size = Math.min(chunk, queries - start);
          const [nextDk, nextDv, dqSlice] = tf.tidy(() => {
            const { qSlice, probabilities } = sliceProbabilities(qSaved, kSaved, start, size);
            const dOut = tf.slice(dy as tf.Tensor3D, [0, start, 0], [-1, size, -1]);
            const dProbabilities = tf.matMul(dOut, vSaved, false, true);
            const dScores = tf.mul(probabilities, tf.sub(dProbabilities, tf.sum(tf.mul(dProbabilities, probabilities), -1, true)));
            return [
              tf.add(dk, tf.matMul(dScores, qSlice, true, false)),
              tf.add(dv, tf.matMul(probabilities, dOut, true, false)),
              tf.matMul(dScores, kSaved),
            ] as tf.Tensor3D[];
          });
          dk.dispose();
          dv.dispose();
          [dk, dv] = [nextDk, nextDv];
          dq.push(dqSlice);
        }
        const dqWhole = tf.concat(dq, 1);
        tf.dispose(dq);
        return [dqWhole, dk, dv];
      },
    };
  }) as (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;
}

/**
 * Same contract as `multiHeadAttention` without a mask (the UNet's attention has none): q [B, Nq, C],
 * k/v [B, Nk, C], `heads` splitting C, at most `chunk` queries scored at once. Returns [B, Nq, C].
 */
export function chunkedAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, chunk: number): tf.Tensor {
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`attention chunk must be a positive integer, got ${chunk}`);
  const [batch, queries, channels] = q.shape;
  const headDim = channels / heads;
  const headsMajor = (t: tf.Tensor) => t.reshape([batch, -1, heads, headDim]).transpose([0, 2, 1, 3]).reshape([batch * heads, -1, headDim]) as tf.Tensor3D;
  const attended = slicedAttention(chunk)(headsMajor(tf.mul(q, 1 / Math.sqrt(headDim))), headsMajor(k), headsMajor(v));
  return attended.reshape([batch, heads, queries, headDim]).transpose([0, 2, 1, 3]).reshape([batch, queries, channels]);
}
