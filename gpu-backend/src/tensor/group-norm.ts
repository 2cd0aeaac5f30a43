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

interface NormAttrs {
  groups: number;
  eps: number;
  silu: boolean;
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

/** x [B, N, C], γ [C], β [C] → out [B, N, C], mean [B, G], rstd [B, G]. */
const FORWARD: JsKernel<NormAttrs> = {
  name: "DreamboothGroupNorm",
  inputs: ["x", "gamma", "beta"],
  outputShapes: ([[batch, positions, channels]], { groups }) => [[batch, positions, channels], [batch, groups], [batch, groups]],
  compute([x, gamma, beta], [out, mean, rstd], [[batch, positions, channels]], { groups, eps, silu }) {
    const groupOf = groupsOf(channels, groups);
    const count = (positions * channels) / groups;
    const sum = new Float64Array(channels);
    const squares = new Float64Array(channels);
    const groupSum = new Float64Array(groups);
    const groupSquares = new Float64Array(groups);
    // y = x·scale[c] + shift[c], with scale = rstd·γ and shift = β − μ·rstd·γ.
    const scale = new Float64Array(channels);
    const shift = new Float64Array(channels);
    for (let b = 0; b < batch; b++) {
      const base = b * positions * channels;
      channelSums(x, base, positions, channels, sum, squares);
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

/** dOut, x, γ, β, mean, rstd → dx [B, N, C], dγ [C], dβ [C]. */
const BACKWARD: JsKernel<NormAttrs> = {
  name: "DreamboothGroupNormGrad",
  inputs: ["dy", "x", "gamma", "beta", "mean", "rstd"],
  outputShapes: ([shape, , gamma]) => [shape, gamma, gamma],
  compute([dOut, x, gamma, beta, mean, rstd], [dx, dGamma, dBeta], [[batch, positions, channels]], { groups, silu }) {
    const groupOf = groupsOf(channels, groups);
    const count = (positions * channels) / groups;
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

export function registerNormKernels(): void {
  registerJsKernel(FORWARD);
  registerJsKernel(BACKWARD);
}

/** Whether the current backend has the fused kernels (wasm and cpu do; tensorflow does not). */
export const hasNormKernels = (): boolean => hasJsKernel(FORWARD as JsKernel<unknown>);

/** x viewed as [rows, positions, channels], normalized per (row, group), with its own gradient. */
function normalize(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, view: [number, number, number], attrs: NormAttrs): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, weight, bias, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x3 = input.reshape(view);
    const [out, mean, rstd] = runJsKernel(FORWARD, [x3, weight, bias], attrs);
    save([x3, weight, bias, mean, rstd]);
    return {
      value: out.reshape(x.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dx, dGamma, dBeta] = runJsKernel(BACKWARD, [dy.reshape(view), ...saved], attrs);
        return [dx.reshape(x.shape), dGamma, dBeta];
      },
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
