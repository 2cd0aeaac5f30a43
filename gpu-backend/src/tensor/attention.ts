/**
 * Multi-head scaled dot-product attention with a hand-written gradient (`tf.customGrad`). Composed from
 * tfjs ops, attention's backward pass replays every forward op on the tape — head splits, the scale, the
 * mask, softmax's generic gradient — and materialises transposed copies of P for `dV = Pᵀ·dO`. Here the
 * backward is the five products of the textbook derivation plus one softmax-Jacobian step:
 *
 *   dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = dS·K·scale,  dK = dSᵀ·Q·scale
 *
 * with the transposed products left to the batched-matMul kernel (which transposes on the wasm heap).
 * `queryChunk` bounds memory: queries are taken that many at a time and P is recomputed per chunk in the
 * backward pass instead of being kept for the whole sequence.
 *
 * Where the `wasmSimd` loops run (wasm-simd.ts), the softmax-Jacobian step is one SIMD kernel over P's
 * rows instead of four elementwise passes (mul, sum, sub, mul) over a [B, heads, N, N] tensor: 10 ms
 * against ~47 for 16 heads of 1024². (A SIMD softmax forward lost to XNNPACK's, 38 ms against 22.)
 * With up to 256 keys (the tiny and small UNets' self-attention below 32×32 latents, every
 * cross-attention) the whole attention is one SIMD kernel each way instead (`simdAttention`): per head
 * on the [B, N, C] layout, without the head transposes and the per-head products, whose fixed costs
 * outweighed their arithmetic at these sizes (tiny UNet self-attention, forward and backward: 8.5 → 5.1 ms).
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasJsKernel, registerJsKernel, runJsKernel, type JsKernel } from "./js-kernel.js";
import { attentionScratchFloats, paddedKeys, simdKernelsFor, simdKernelsOnBackend, type AttentionShape } from "./wasm-simd.js";

/** dS = P ⊙ (dP − rowsum(dP ⊙ P)) over the last axis. */
const SOFTMAX_GRAD: JsKernel<Record<string, never>> = {
  name: "DreamboothSoftmaxGrad",
  inputs: ["p", "dp"],
  outputShapes: ([shape]) => [shape],
  compute([p, dp], [dx], [shape]) {
    const cols = shape[shape.length - 1];
    const rows = tf.util.sizeFromShape(shape.slice(0, -1));
    const simd = simdKernelsFor(p, dp, dx);
    if (simd) return simd.softmaxGrad(p, dp, dx, rows, cols);
    for (let r = 0, at = 0; r < rows; r++, at += cols) {
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += p[at + c] * dp[at + c];
      for (let c = 0; c < cols; c++) dx[at + c] = p[at + c] * (dp[at + c] - dot);
    }
  },
};

interface AttentionAttrs {
  heads: number;
  scale: number;
}

function attentionShape([q, k]: number[][], { heads, scale }: AttentionAttrs): AttentionShape {
  return { batch: q[0], queries: q[1], keys: k[1], channels: q[2], heads, scale };
}

/** The whole attention (softmax(q·scale·kᵀ)·v per head) as one SIMD kernel; P kept for the gradient. Only on the wasm heap. */
const ATTENTION: JsKernel<AttentionAttrs> = {
  name: "DreamboothAttention",
  inputs: ["q", "k", "v"],
  outputShapes: ([q, k], { heads }) => [q, [q[0], heads, q[1], paddedKeys(k[1])]],
  scratch: (shapes, attrs) => attentionScratchFloats(attentionShape(shapes, attrs), false),
  compute([q, k, v], [out, p], shapes, attrs, scratch) {
    const simd = simdKernelsFor(q, k, v, out, p, scratch);
    if (!simd) throw new Error("DreamboothAttention runs only on the wasm backend's heap with the wasmSimd loops");
    simd.attention.forward(q, k, v, out, p, attentionShape(shapes, attrs), scratch);
  },
};

const ATTENTION_GRAD: JsKernel<AttentionAttrs> = {
  name: "DreamboothAttentionGrad",
  inputs: ["dy", "q", "k", "v", "p"],
  outputShapes: ([, q, k, v]) => [q, k, v],
  scratch: ([, q, k], attrs) => attentionScratchFloats(attentionShape([q, k], attrs), true),
  compute([dy, q, k, v, p], [dq, dk, dv], [, qShape, kShape], attrs, scratch) {
    const simd = simdKernelsFor(dy, q, k, v, p, dq, dk, dv, scratch);
    if (!simd) throw new Error("DreamboothAttentionGrad runs only on the wasm backend's heap with the wasmSimd loops");
    simd.attention.backward(dy, q, k, v, p, dq, dk, dv, attentionShape([qShape, kShape], attrs), scratch);
  },
};

export function registerAttentionKernels(): void {
  registerJsKernel(SOFTMAX_GRAD);
  registerJsKernel(ATTENTION);
  registerJsKernel(ATTENTION_GRAD);
}

/**
 * Up to this many keys the SIMD kernels win both ways. Measured at batch 2 (CPU ms, composed → SIMD,
 * forward / forward + backward): 256 keys, d 8 (the tiny UNet's self-attention) 3.2–3.5 / 8.3–8.6 →
 * 2.2–2.9 / 5.1; 77 keys (every cross-attention) 1.1 / 2.8–3.0 → 0.9–1.0 / 1.9–2.0; 256 keys, d 12
 * 8–10 / 21–25 → 6–7 / 15–24; 64 keys, d 24 1.3–1.5 / 3.6–5.2 → 0.8–1.2 / 2.3. At 512 keys the forward
 * lost (8.1–9.6 → 9.1–10.3; the training step still won, 23 → 18–20), and at 1024 both could (d 8:
 * 54–57 / 155–171 → 72–80 / 169–181): XNNPACK's softmax computes eˣ faster than the kernel's exp4.
 */
const SIMD_ATTENTION_MAX_KEYS = 256;

/**
 * Attention as two SIMD kernels on the wasm heap (wasm-simd.ts), one head at a time on the [B, N, C]
 * layout: no head splits or merges, no per-head products, P's rows written once and read back in cache.
 */
function simdAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, scale: number): tf.Tensor3D {
  const attrs: AttentionAttrs = { heads, scale };
  const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [out, p] = runJsKernel(ATTENTION, [qIn, kIn, vIn], attrs);
    save([qIn, kIn, vIn, p]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runJsKernel(ATTENTION_GRAD, [dy, ...saved], attrs),
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}

/**
 * The softmax-Jacobian step dS = P ⊙ (dP − rowsum(dP ⊙ P)): the kernel on wasm with the SIMD loops, and
 * on cpu as its JavaScript loop (faster there than the composed ops); else the composed ops.
 */
function softmaxGrad(p: tf.Tensor, dP: tf.Tensor): tf.Tensor {
  const kernel = simdKernelsOnBackend() || (tf.getBackend() === "cpu" && hasJsKernel(SOFTMAX_GRAD as JsKernel<unknown>));
  return kernel ? runJsKernel(SOFTMAX_GRAD, [p, dP], {})[0] : tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true)));
}

export interface AttentionOptions {
  /** Additive mask broadcastable to [B, heads, Nq, Nk] (no gradient flows into it). */
  mask?: tf.Tensor;
  /** Queries per chunk; unset, all at once (P of the whole sequence kept for the backward pass). */
  queryChunk?: number;
}

/** [B, N, C] → [B, heads, N, C/heads]. */
function splitHeads(t: tf.Tensor, heads: number): tf.Tensor4D {
  const [batch, length, channels] = t.shape;
  const grouped = t.reshape([batch, length, heads, channels / heads]);
  return (heads === 1 ? grouped.reshape([batch, 1, length, channels]) : grouped.transpose([0, 2, 1, 3])) as tf.Tensor4D;
}

/** [B, heads, N, d] → [B, N, heads·d]. */
function mergeHeads(t: tf.Tensor): tf.Tensor3D {
  const [batch, heads, length, headDim] = t.shape;
  const merged = heads === 1 ? t : t.transpose([0, 2, 1, 3]);
  return merged.reshape([batch, length, heads * headDim]) as tf.Tensor3D;
}

/** Query ranges [start, size) of at most `chunk` queries. */
function queryRanges(queries: number, chunk: number | undefined): Array<[number, number]> {
  const size = chunk && chunk > 0 ? Math.min(chunk, queries) : queries;
  return Array.from({ length: Math.ceil(queries / size) }, (_, i) => [i * size, Math.min(size, queries - i * size)]);
}

/** Rows [start, start+size) of a [B, H, N, d] tensor (the whole tensor when that is all of it). */
function rows(t: tf.Tensor4D, start: number, size: number): tf.Tensor4D {
  return start === 0 && size === t.shape[2] ? t : tf.slice(t, [0, 0, start, 0], [-1, -1, size, -1]);
}

/** The mask's rows for queries [start, start+size), when it has a query axis of its own. */
function maskRows(mask: tf.Tensor | undefined, start: number, size: number, queries: number): tf.Tensor | undefined {
  if (!mask || mask.rank < 2 || mask.shape[mask.rank - 2] !== queries || size === queries) return mask;
  const begin = mask.shape.map((_, axis) => (axis === mask.rank - 2 ? start : 0));
  const extent = mask.shape.map((dim, axis) => (axis === mask.rank - 2 ? size : dim));
  return tf.slice(mask, begin, extent);
}

function probabilities(qh: tf.Tensor4D, kh: tf.Tensor4D, mask: tf.Tensor | undefined): tf.Tensor4D {
  const scores = tf.matMul(qh, kh, false, true);
  return tf.softmax(mask ? tf.add(scores, mask) : scores) as tf.Tensor4D;
}

/**
 * softmax(Q·Kᵀ/√d + mask)·V with the channels split into `heads`: q [B, Nq, C], k/v [B, Nk, C] → [B, Nq, C].
 * Same value as the composed ops; gradients for q, k and v.
 */
export function fusedAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, options: AttentionOptions = {}): tf.Tensor3D {
  const { mask, queryChunk } = options;
  const [, queries, channels] = q.shape as number[];
  const scale = 1 / Math.sqrt(channels / heads);
  const ranges = queryRanges(queries, queryChunk);
  const keys = (k.shape as number[])[1];
  if (!mask && ranges.length === 1 && keys <= SIMD_ATTENTION_MAX_KEYS && simdKernelsOnBackend() && [q, k, v].every((t) => t.dtype === "float32" && t.rank === 3)) {
    return simdAttention(q, k, v, heads, scale);
  }
  const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const qh = splitHeads(tf.mul(qIn, scale), heads);
    const kh = splitHeads(kIn, heads);
    const vh = splitHeads(vIn, heads);
    const outputs: tf.Tensor4D[] = [];
    let wholeP: tf.Tensor4D | undefined;
    for (const [start, size] of ranges) {
      const p = probabilities(rows(qh, start, size), kh, maskRows(mask, start, size, queries));
      if (ranges.length === 1) wholeP = p;
      outputs.push(tf.matMul(p, vh));
    }
    // One chunk keeps P for the backward pass; chunks recompute theirs, with the mask saved so that a
    // tidy around the forward pass cannot free it first.
    save(wholeP ? [qh, kh, vh, wholeP] : mask ? [qh, kh, vh, mask] : [qh, kh, vh]);
    return {
      value: mergeHeads(outputs.length === 1 ? outputs[0] : tf.concat(outputs, 2)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, fourth] = saved as tf.Tensor4D[];
        const savedP = ranges.length === 1 ? fourth : undefined;
        const savedMask = ranges.length === 1 ? undefined : fourth;
        const dO = splitHeads(dy, heads);
        const dQ: tf.Tensor4D[] = [];
        let dK: tf.Tensor | undefined;
        let dV: tf.Tensor | undefined;
        for (const [start, size] of ranges) {
          const qc = rows(sq, start, size);
          const dOc = rows(dO, start, size);
          const p = savedP ?? probabilities(qc, sk, maskRows(savedMask, start, size, queries));
          const dP = tf.matMul(dOc, sv, false, true);
          const dS = softmaxGrad(p, dP);
          dQ.push(tf.matMul(dS, sk));
          const dVc = tf.matMul(p, dOc, true, false);
          const dKc = tf.matMul(dS, qc, true, false);
          dV = dV ? tf.add(dV, dVc) : dVc;
          dK = dK ? tf.add(dK, dKc) : dKc;
        }
        const dq = tf.mul(mergeHeads(dQ.length === 1 ? dQ[0] : tf.concat(dQ, 2)), scale);
        return [dq, mergeHeads(dK!), mergeHeads(dV!)];
      },
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}
