/**
 * GroupNorm (optionally followed by SiLU, as every ResnetBlock2D and the networks' output heads use it)
 * and LayerNorm as one JavaScript kernel each way. Composed from tfjs ops, a GroupNorm+SiLU is ~15
 * kernels forward and ~40 backward, each a pass over the activation with ~40 µs of op overhead: in the
 * tiny UNet's step that is more time than the arithmetic. Here the forward pass is two sweeps (per-channel
 * Σx and Σx², then the output) and the backward pass two, with sums in double precision and the
 * per-element work folded into per-channel coefficients. LayerNorm is the same
 * computation with one group per row. Statistics are per (sample, group) over positions and the
 * group's channels; x̂ = (x − μ)·rstd, y = x̂·γ + β, out = y or y·σ(y), and the gradient is
 *
 *   dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)),  g = dy·γ,  dγ = Σ dy·x̂,  dβ = Σ dy
 *
 * where dy is first multiplied by SiLU's derivative σ(y)·(1 + y·(1 − σ(y))) when SiLU is fused.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fastExp } from "./fast-exp.js";
import { hasJsKernel, registerJsKernel, runJsKernel, type JsKernel } from "./js-kernel.js";
import { simdKernelsFor, type NormKernels } from "./wasm-simd.js";

interface NormAttrs {
  groups: number;
  eps: number;
  silu: boolean;
}

/**
 * The kernels' attributes: the options and x viewed as [rows, positions, channels]. The kernels take x
 * in its own shape and read the view from here: reshaping in and out cost four Reshape kernels (and
 * their tape entries) a norm, 180 of a training step's 2,578 kernels in the embedded model.
 */
interface KernelAttrs extends NormAttrs {
  view: [number, number, number];
}

/** Group index of each channel (channels of a group are contiguous). */
function groupsOf(channels: number, groups: number): Int32Array {
  const width = channels / groups;
  return Int32Array.from({ length: channels }, (_, c) => Math.floor(c / width));
}

/**
 * Per-channel sums of `values[i]` and `values[i]²` over one sample's positions, in double precision.
 * One contiguous sweep; the statistics of a group are then the sums over its channels.
 */
function channelSums(values: Float32Array, base: number, positions: number, channels: number, sum: Float64Array, squares: Float64Array): void {
  sum.fill(0);
  squares.fill(0);
  for (let n = 0, at = base; n < positions; n++) {
    for (let c = 0; c < channels; c++, at++) {
      const v = values[at];
      sum[c] += v;
      squares[c] += v * v;
    }
  }
}

/**
 * The SIMD sweeps' working vectors, laid out in a kernel's scratch: two float64 per-channel sums, then
 * five float32 per-channel vectors. Null where the sweeps cannot run (channels not a multiple of 4, a
 * LayerNorm's one position per row, which the JavaScript loops handle better, the cpu backend, the
 * wasmSimd switch off).
 */
interface SimdNorm {
  kernels: NormKernels;
  sums: Float64Array;
  squares: Float64Array;
  vectors: Float32Array[];
}

/**
 * Floats of scratch the SIMD sweeps need: 2 float64 + 5 float32 vectors per channel, and 8-byte alignment
 * slack; for a LayerNorm's rows (one position each), the 2 float64 vectors of dγ and dβ.
 */
const simdScratch = (_shapes: number[][], { view: [, positions, channels] }: KernelAttrs) => (channels % 4 !== 0 ? 0 : positions > 1 ? 9 * channels + 2 : 4 * channels + 2);

/** Float64 vector `index` of `length` in the scratch, past its 8-byte alignment slack. */
function scratchFloat64(scratch: Float32Array, index: number, length: number): Float64Array {
  const skip = (scratch.byteOffset % 8) / 4;
  return new Float64Array(scratch.buffer, scratch.byteOffset + 4 * (skip + 2 * index * length), length);
}

/**
 * The SIMD kernels for a LayerNorm (one position per row, one group, no SiLU) over these views, or null:
 * all rows in one call, where the per-sample loops below would pay their setup once per row.
 */
function simdLayerNorm(positions: number, channels: number, attrs: NormAttrs, ...views: Float32Array[]): NormKernels | null {
  if (positions !== 1 || attrs.groups !== 1 || attrs.silu || channels % 4 !== 0) return null;
  return simdKernelsFor(...views)?.norm ?? null;
}

function simdNorm(scratch: Float32Array, channels: number, positions: number, ...tensors: Float32Array[]): SimdNorm | null {
  if (channels % 4 !== 0 || positions <= 1 || scratch.length < 9 * channels + 2) return null;
  const simd = simdKernelsFor(scratch, ...tensors);
  if (!simd) return null;
  const skip = (scratch.byteOffset % 8) / 4;
  const vectors = Array.from({ length: 5 }, (_, i) => scratch.subarray(skip + (4 + i) * channels, skip + (5 + i) * channels));
  return { kernels: simd.norm, sums: scratchFloat64(scratch, 0, channels), squares: scratchFloat64(scratch, 1, channels), vectors };
}

/** x viewed as [B, N, C], γ [C], β [C] → out (x's shape), mean [B, G], rstd [B, G]. */
const FORWARD: JsKernel<KernelAttrs> = {
  name: "DreamboothGroupNorm",
  inputs: ["x", "gamma", "beta"],
  outputShapes: ([shape], { view: [batch], groups }) => [shape, [batch, groups], [batch, groups]],
  scratch: simdScratch,
  compute([x, gamma, beta], [out, mean, rstd], _shapes, attrs, scratch) {
    const { groups, eps, silu, view: [batch, positions, channels] } = attrs;
    const layerNorm = simdLayerNorm(positions, channels, attrs, x, gamma, beta, out, mean, rstd);
    if (layerNorm) return layerNorm.layerNormForward(x, out, batch, channels, gamma, beta, mean, rstd, eps);
    const groupOf = groupsOf(channels, groups);
    const count = (positions * channels) / groups;
    const simd = simdNorm(scratch, channels, positions, x, gamma, beta, out);
    const sum = simd?.sums ?? new Float64Array(channels);
    const squares = simd?.squares ?? new Float64Array(channels);
    const groupSum = new Float64Array(groups);
    const groupSquares = new Float64Array(groups);
    // y = x·scale[c] + shift[c], with scale = rstd·γ and shift = β − μ·rstd·γ.
    const scale = new Float64Array(channels);
    const shift = new Float64Array(channels);
    for (let b = 0; b < batch; b++) {
      const base = b * positions * channels;
      const sample = (values: Float32Array) => values.subarray(base, base + positions * channels);
      if (simd) simd.kernels.channelSums(sample(x), positions, channels, sum, squares);
      else channelSums(x, base, positions, channels, sum, squares);
      groupSum.fill(0);
      groupSquares.fill(0);
      for (let c = 0; c < channels; c++) {
        groupSum[groupOf[c]] += sum[c];
        groupSquares[groupOf[c]] += squares[c];
      }
      for (let g = 0; g < groups; g++) {
        const mu = groupSum[g] / count;
        // E[x²] − μ² in double precision: exact enough for float32 activations, and one sweep fewer.
        const variance = Math.max(0, groupSquares[g] / count - mu * mu);
        mean[b * groups + g] = mu;
        rstd[b * groups + g] = 1 / Math.sqrt(variance + eps);
      }
      if (simd) {
        const [channelMean, channelScale] = simd.vectors;
        for (let c = 0; c < channels; c++) {
          const g = b * groups + groupOf[c];
          channelMean[c] = mean[g];
          channelScale[c] = rstd[g] * gamma[c];
        }
        simd.kernels.forward(sample(x), sample(out), positions, channels, channelMean, channelScale, beta, silu);
        continue;
      }
      for (let c = 0; c < channels; c++) {
        const g = b * groups + groupOf[c];
        scale[c] = rstd[g] * gamma[c];
        shift[c] = beta[c] - mean[g] * scale[c];
      }
      for (let n = 0, at = base; n < positions; n++) {
        for (let c = 0; c < channels; c++, at++) {
          const y = x[at] * scale[c] + shift[c];
          out[at] = silu ? y / (1 + fastExp(-y)) : y;
        }
      }
    }
  },
};

/** dOut, x, γ, β, mean, rstd → dx (x's shape), dγ [C], dβ [C]. */
const BACKWARD: JsKernel<KernelAttrs> = {
  name: "DreamboothGroupNormGrad",
  inputs: ["dy", "x", "gamma", "beta", "mean", "rstd"],
  outputShapes: ([shape, , gamma]) => [shape, gamma, gamma],
  scratch: simdScratch,
  compute([dOut, x, gamma, beta, mean, rstd], [dx, dGamma, dBeta], _shapes, attrs, scratch) {
    const { groups, silu, view: [batch, positions, channels] } = attrs;
    const layerNorm = simdLayerNorm(positions, channels, attrs, dOut, x, gamma, mean, rstd, dx, scratch);
    if (layerNorm) {
      const [gammaSum, betaSum] = [0, 1].map((index) => scratchFloat64(scratch, index, channels));
      layerNorm.layerNormGrad(dOut, x, dx, batch, channels, gamma, mean, rstd, gammaSum, betaSum);
      dGamma.set(gammaSum);
      dBeta.set(betaSum);
      return;
    }
    const groupOf = groupsOf(channels, groups);
    const count = (positions * channels) / groups;
    const simd = simdNorm(scratch, channels, positions, dOut, x, gamma, beta, dx);
    if (simd) {
      simdBackward(simd, { dOut, x, gamma, beta, mean, rstd, dx, dGamma, dBeta }, batch, positions, channels, groupOf, count, silu);
      return;
    }
    const gammaSum = new Float64Array(channels);
    const betaSum = new Float64Array(channels);
    // x̂ = x·inverse[c] + offset[c]; y = x̂·γ + β.
    const inverse = new Float64Array(channels);
    const offset = new Float64Array(channels);
    const dySum = new Float64Array(channels);
    const dyXSum = new Float64Array(channels);
    const sumG = new Float64Array(groups);
    const sumGX = new Float64Array(groups);
    const dyScale = new Float64Array(channels);
    const xScale = new Float64Array(channels);
    const constant = new Float64Array(channels);
    for (let b = 0; b < batch; b++) {
      const base = b * positions * channels;
      for (let c = 0; c < channels; c++) {
        const g = b * groups + groupOf[c];
        inverse[c] = rstd[g];
        offset[c] = -mean[g] * rstd[g];
      }
      dySum.fill(0);
      dyXSum.fill(0);
      // Pass 1: dy (through SiLU) into dx as scratch, and per-channel Σdy, Σdy·x̂.
      for (let n = 0, at = base; n < positions; n++) {
        for (let c = 0; c < channels; c++, at++) {
          const normalized = x[at] * inverse[c] + offset[c];
          let dy = dOut[at];
          if (silu) {
            const y = normalized * gamma[c] + beta[c];
            const s = 1 / (1 + fastExp(-y));
            dy *= s * (1 + y * (1 - s));
          }
          dx[at] = dy;
          dySum[c] += dy;
          dyXSum[c] += dy * normalized;
        }
      }
      sumG.fill(0);
      sumGX.fill(0);
      for (let c = 0; c < channels; c++) {
        betaSum[c] += dySum[c];
        gammaSum[c] += dyXSum[c];
        sumG[groupOf[c]] += gamma[c] * dySum[c];
        sumGX[groupOf[c]] += gamma[c] * dyXSum[c];
      }
      // dx = rstd·(dy·γ − mean(g) − x̂·mean(g·x̂)) = dy·dyScale[c] + x·xScale[c] + constant[c].
      for (let c = 0; c < channels; c++) {
        const g = groupOf[c];
        const meanG = sumG[g] / count;
        const meanGX = sumGX[g] / count;
        dyScale[c] = inverse[c] * gamma[c];
        xScale[c] = -inverse[c] * inverse[c] * meanGX;
        constant[c] = -inverse[c] * (meanG + offset[c] * meanGX);
      }
      for (let n = 0, at = base; n < positions; n++) {
        for (let c = 0; c < channels; c++, at++) dx[at] = dx[at] * dyScale[c] + x[at] * xScale[c] + constant[c];
      }
    }
    dGamma.set(gammaSum);
    dBeta.set(betaSum);
  },
};

/** The backward pass with the SIMD sweeps: the same two passes and per-channel coefficients as the JavaScript loops. */
function simdBackward(
  simd: SimdNorm,
  t: Record<"dOut" | "x" | "gamma" | "beta" | "mean" | "rstd" | "dx" | "dGamma" | "dBeta", Float32Array>,
  batch: number,
  positions: number,
  channels: number,
  groupOf: Int32Array,
  count: number,
  silu: boolean,
): void {
  const groups = t.mean.length / batch;
  const [channelMean, channelRstd, a, b, k] = simd.vectors;
  const { sums: dySum, squares: dyXSum } = simd;
  const gammaSum = new Float64Array(channels);
  const betaSum = new Float64Array(channels);
  const sumG = new Float64Array(groups);
  const sumGX = new Float64Array(groups);
  for (let n = 0; n < batch; n++) {
    const base = n * positions * channels;
    const sample = (values: Float32Array) => values.subarray(base, base + positions * channels);
    for (let c = 0; c < channels; c++) {
      channelMean[c] = t.mean[n * groups + groupOf[c]];
      channelRstd[c] = t.rstd[n * groups + groupOf[c]];
    }
    simd.kernels.gradSums(sample(t.dOut), sample(t.x), sample(t.dx), positions, channels, channelMean, channelRstd, t.gamma, t.beta, silu, dySum, dyXSum);
    sumG.fill(0);
    sumGX.fill(0);
    for (let c = 0; c < channels; c++) {
      betaSum[c] += dySum[c];
      gammaSum[c] += dyXSum[c];
      sumG[groupOf[c]] += t.gamma[c] * dySum[c];
      sumGX[groupOf[c]] += t.gamma[c] * dyXSum[c];
    }
    // dx = rstd·(dy·γ − mean(g) − x̂·mean(g·x̂)).
    for (let c = 0; c < channels; c++) {
      const r = channelRstd[c];
      a[c] = r * t.gamma[c];
      b[c] = -r * (sumGX[groupOf[c]] / count);
      k[c] = -r * (sumG[groupOf[c]] / count);
    }
    simd.kernels.gradApply(sample(t.dx), sample(t.x), positions, channels, channelMean, channelRstd, a, b, k);
  }
  t.dGamma.set(gammaSum);
  t.dBeta.set(betaSum);
}

export function registerNormKernels(): void {
  registerJsKernel(FORWARD);
  registerJsKernel(BACKWARD);
}

/** Whether the current backend has the fused kernels (wasm and cpu do; tensorflow does not). */
export const hasNormKernels = (): boolean => hasJsKernel(FORWARD as JsKernel<unknown>);

/** x viewed as [rows, positions, channels], normalized per (row, group), with its own gradient. */
function normalize(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, view: [number, number, number], options: NormAttrs): tf.Tensor {
  const attrs: KernelAttrs = { ...options, view };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, weight, bias, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [out, mean, rstd] = runJsKernel(FORWARD, [input, weight, bias], attrs);
    save([input, weight, bias, mean, rstd]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runJsKernel(BACKWARD, [dy, ...saved], attrs),
    };
  });
  return op(x, gamma, beta);
}

/** GroupNorm over NHWC x (then SiLU when asked), γ and β per channel. */
export function fusedGroupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, options: NormAttrs): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  return normalize(x, gamma, beta, [batch, height * width, channels], options) as tf.Tensor4D;
}

/** LayerNorm over x's last axis. */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const features = x.shape[x.rank - 1];
  return normalize(x, gamma, beta, [x.size / features, 1, features], { groups: 1, eps, silu: false });
}
