/**
 * GroupNorm (optionally followed by SiLU, as every ResnetBlock2D and the networks' output heads use it)
 * and LayerNorm as one JavaScript kernel each way. Composed from tfjs ops, a GroupNorm+SiLU is ~15
 * kernels forward and ~40 backward, each a pass over the activation with ~40 µs of op overhead: in the
 * tiny UNet's step that is more time than the arithmetic. Here the forward pass is three sweeps (mean,
 * variance, output) and the backward pass two, with sums in double precision. LayerNorm is the same
 * computation with one group per row. Statistics are per (sample, group) over positions and the
 * group's channels; x̂ = (x − μ)·rstd, y = x̂·γ + β, out = y or y·σ(y), and the gradient is
 *
 *   dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)),  g = dy·γ,  dγ = Σ dy·x̂,  dβ = Σ dy
 *
 * where dy is first multiplied by SiLU's derivative σ(y)·(1 + y·(1 − σ(y))) when SiLU is fused.
 */
import * as tf from "@tensorflow/tfjs-core";
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

/** x [B, N, C], γ [C], β [C] → out [B, N, C], mean [B, G], rstd [B, G]. */
const FORWARD: JsKernel<NormAttrs> = {
  name: "DreamboothGroupNorm",
  inputs: ["x", "gamma", "beta"],
  outputShapes: ([[batch, positions, channels]], { groups }) => [[batch, positions, channels], [batch, groups], [batch, groups]],
  compute([x, gamma, beta], [out, mean, rstd], [[batch, positions, channels]], { groups, eps, silu }) {
    const groupOf = groupsOf(channels, groups);
    const count = (positions * channels) / groups;
    const sums = new Float64Array(groups);
    const means = new Float64Array(groups);
    const inverse = new Float64Array(groups);
    const end = positions * channels;
    for (let b = 0; b < batch; b++) {
      const base = b * end;
      sums.fill(0);
      for (let i = 0; i < end; i += channels) {
        for (let c = 0; c < channels; c++) sums[groupOf[c]] += x[base + i + c];
      }
      for (let g = 0; g < groups; g++) means[g] = sums[g] / count;
      sums.fill(0);
      for (let i = 0; i < end; i += channels) {
        for (let c = 0; c < channels; c++) {
          const deviation = x[base + i + c] - means[groupOf[c]];
          sums[groupOf[c]] += deviation * deviation;
        }
      }
      for (let g = 0; g < groups; g++) {
        inverse[g] = 1 / Math.sqrt(sums[g] / count + eps);
        mean[b * groups + g] = means[g];
        rstd[b * groups + g] = inverse[g];
      }
      for (let i = 0; i < end; i += channels) {
        for (let c = 0; c < channels; c++) {
          const g = groupOf[c];
          const y = (x[base + i + c] - means[g]) * inverse[g] * gamma[c] + beta[c];
          out[base + i + c] = silu ? y / (1 + Math.exp(-y)) : y;
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
    const sumG = new Float64Array(groups);
    const sumGX = new Float64Array(groups);
    const means = new Float64Array(groups);
    const inverse = new Float64Array(groups);
    const end = positions * channels;
    for (let b = 0; b < batch; b++) {
      const base = b * end;
      for (let g = 0; g < groups; g++) {
        means[g] = mean[b * groups + g];
        inverse[g] = rstd[b * groups + g];
      }
      sumG.fill(0);
      sumGX.fill(0);
      // Pass 1: dy (through SiLU) into dx as scratch, and the sums.
      for (let i = 0; i < end; i += channels) {
        for (let c = 0; c < channels; c++) {
          const at = base + i + c;
          const g = groupOf[c];
          const normalized = (x[at] - means[g]) * inverse[g];
          let dy = dOut[at];
          if (silu) {
            const y = normalized * gamma[c] + beta[c];
            const s = 1 / (1 + Math.exp(-y));
            dy *= s * (1 + y * (1 - s));
          }
          dx[at] = dy;
          betaSum[c] += dy;
          gammaSum[c] += dy * normalized;
          const scaled = dy * gamma[c];
          sumG[g] += scaled;
          sumGX[g] += scaled * normalized;
        }
      }
      for (let g = 0; g < groups; g++) {
        sumG[g] /= count;
        sumGX[g] /= count;
      }
      // Pass 2: dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)).
      for (let i = 0; i < end; i += channels) {
        for (let c = 0; c < channels; c++) {
          const at = base + i + c;
          const g = groupOf[c];
          const normalized = (x[at] - means[g]) * inverse[g];
          dx[at] = inverse[g] * (dx[at] * gamma[c] - sumG[g] - normalized * sumGX[g]);
        }
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
