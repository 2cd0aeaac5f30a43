/**
 * The building blocks of Stable Diffusion's three networks, with PyTorch's exact semantics on NHWC
 * tensors: Conv2d pads explicitly (a stride-2 conv with padding 1 pads both sides, which TF 'same'
 * does not), GroupNorm/LayerNorm take the eps each diffusers module uses, GELU is the exact erf form.
 * Each layer registers its parameters under its diffusers name and is a plain object with `forward`.
 * Linear layers and 1×1 convolutions consult the store's LoRA set, so an adapter changes their output
 * without the networks knowing about LoRA.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedAttention } from "../tensor/attention.js";
import { fusedGroupNorm, fusedLayerNorm, hasNormKernels } from "../tensor/group-norm.js";
import { fusedLinear } from "../tensor/linear.js";
import { switchOn } from "../tensor/speed-switches.js";
import { hasLoraAdapter, loraDelta } from "./lora.js";
import type { Scope } from "./params.js";

/**
 * Whether a layer with this weight should run its plain ops instead of the fused kernel. tfjs' fused
 * matMul and conv2d are custom gradients that compute every input's gradient, the weight's included,
 * even when the tape needs only x's; the plain ops compute just what is asked. So while a gradient is
 * recorded, a frozen weight (LoRA's base network, the decoder stage's encoder) takes the plain path and
 * its weight gradient is never computed: a third of a LoRA step's backward arithmetic on any backend,
 * and on the cpu backend — whose Conv2DBackpropFilter runs at ~0.01 GFLOP/s, 60× below its forward
 * conv — nearly all of a full-size SD1.5 step. Sampling (no tape) keeps the fused kernel.
 */
function skipsWeightGradient(weight: tf.Variable): boolean {
  return !weight.trainable && tf.engine().isTapeOn();
}

export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | undefined;

  constructor(
    private readonly scope: Scope,
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true } = {},
  ) {
    this.weight = scope.param("weight", [inFeatures, outFeatures], "linear", "fanIn", inFeatures);
    this.bias = bias ? scope.param("bias", [outFeatures], "plain", "fanIn", inFeatures) : undefined;
    scope.store.projections.set(scope.path, { inFeatures, outFeatures });
  }

  /** x: [..., in] → [..., out]. */
  forward(x: tf.Tensor): tf.Tensor {
    // Training a weight of a layer without an adapter: one taped op (linear.ts).
    if (switchOn("fusedLinear") && this.weight.trainable && tf.engine().isTapeOn() && !hasLoraAdapter(this.scope.store.lora, this.scope.path)) {
      return fusedLinear(x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | undefined);
    }
    const leading = x.shape.slice(0, -1);
    const flat = x.reshape([-1, this.inFeatures]);
    const weight = this.weight as tf.Tensor2D;
    let y: tf.Tensor;
    if (!skipsWeightGradient(this.weight)) y = tf.fused.matMul({ a: flat as tf.Tensor2D, b: weight, bias: this.bias });
    else y = this.bias ? tf.add(tf.matMul(flat, weight), this.bias) : tf.matMul(flat, weight);
    const delta = loraDelta(this.scope.store.lora, this.scope.path, flat);
    if (delta) y = tf.add(y, delta);
    return y.reshape([...leading, this.outFeatures]);
  }
}

export interface Conv2dOptions {
  stride?: number;
  /** PyTorch padding: one number for all sides, or [top, bottom, left, right]. */
  padding?: number | [number, number, number, number];
}

export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  private readonly stride: number;
  private readonly padding: [number, number, number, number];

  constructor(
    private readonly scope: Scope,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    { stride = 1, padding = 0 }: Conv2dOptions = {},
  ) {
    const fanIn = inChannels * kernelSize * kernelSize;
    this.weight = scope.param("weight", [kernelSize, kernelSize, inChannels, outChannels], "conv", "fanIn", fanIn);
    this.bias = scope.param("bias", [outChannels], "plain", "fanIn", fanIn);
    this.stride = stride;
    this.padding = typeof padding === "number" ? [padding, padding, padding, padding] : padding;
    if (kernelSize === 1) scope.store.projections.set(scope.path, { inFeatures: inChannels, outFeatures: outChannels });
  }

  /** x: [B, H, W, in] → [B, H', W', out]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [top, bottom, left, right] = this.padding;
    const samePadding = this.stride === 1 && top === bottom && left === right && top === left && 2 * top === this.kernelSize - 1;
    const filter = this.weight as tf.Tensor4D;
    // The bias rides along in one fused kernel (in plain ops when a frozen weight's gradient is skipped); odd
    // kernel, stride 1, symmetric padding (k-1)/2 is exactly TF 'same' and needs no padded copy of x.
    const plain = skipsWeightGradient(this.weight);
    const conv = (input: tf.Tensor4D, strides: number, pad: "same" | "valid") =>
      plain ? tf.add(tf.conv2d(input, filter, strides, pad), this.bias) : tf.fused.conv2d({ x: input, filter, strides, pad, bias: this.bias });
    let y = (
      samePadding
        ? conv(x, 1, "same")
        : conv(top + bottom + left + right > 0 ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x, this.stride, "valid")
    ) as tf.Tensor4D;
    if (this.kernelSize === 1) {
      const [batch, height, width] = x.shape;
      const delta = loraDelta(this.scope.store.lora, this.scope.path, x.reshape([-1, this.inChannels]));
      if (delta) y = tf.add(y, delta.reshape([batch, height, width, this.outChannels]));
    }
    return y;
  }
}

/** GroupNorm over NHWC: statistics per (sample, group) across H, W and the group's channels. */
export class GroupNorm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    scope: Scope,
    readonly numGroups: number,
    readonly numChannels: number,
    readonly eps: number,
  ) {
    if (numChannels % numGroups !== 0) throw new Error(`${scope.path}: ${numChannels} channels do not split into ${numGroups} groups`);
    this.weight = scope.param("weight", [numChannels], "plain", "ones");
    this.bias = scope.param("bias", [numChannels], "plain", "zeros");
  }

  /** x: [B, H, W, C]; with `silu`, SiLU follows the norm (ResnetBlock2D's and the output heads' order). */
  forward(x: tf.Tensor4D, { silu: thenSilu = false } = {}): tf.Tensor4D {
    if (switchOn("fusedGroupNormSilu") && hasNormKernels()) {
      return fusedGroupNorm(x, this.weight, this.bias, { groups: this.numGroups, eps: this.eps, silu: thenSilu });
    }
    const [batch, height, width, channels] = x.shape;
    const groupShape = [1, 1, this.numGroups, channels / this.numGroups];
    const grouped = x.reshape([batch, height * width, ...groupShape.slice(2)]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    // (x − μ)/σ·γ + β folded into x·a + b with small a, b: two full-size ops instead of four.
    const scale = tf.mul(tf.rsqrt(tf.add(variance, this.eps)), this.weight.reshape(groupShape));
    const shift = tf.sub(this.bias.reshape(groupShape), tf.mul(mean, scale));
    const normalized = tf.add(tf.mul(grouped, scale), shift).reshape(x.shape) as tf.Tensor4D;
    return thenSilu ? (silu(normalized) as tf.Tensor4D) : normalized;
  }
}

export class LayerNorm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    scope: Scope,
    readonly numFeatures: number,
    readonly eps: number,
  ) {
    this.weight = scope.param("weight", [numFeatures], "plain", "ones");
    this.bias = scope.param("bias", [numFeatures], "plain", "zeros");
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (switchOn("fusedLayerNorm") && hasNormKernels()) return fusedLayerNorm(x, this.weight, this.bias, this.eps);
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
    return tf.add(tf.mul(normalized, this.weight), this.bias);
  }
}

/** Exact GELU, x·Φ(x) = x·(1 + erf(x/√2))/2, as torch's default (not the tanh approximation). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** CLIP's activation: x·σ(1.702x). */
export function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Scaled dot-product attention with the channels split into `heads`: q [B, Nq, C], k/v [B, Nk, C],
 * optional additive mask broadcastable to [B, heads, Nq, Nk]. Returns [B, Nq, C].
 */
export function multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, mask?: tf.Tensor): tf.Tensor {
  if (switchOn("fusedAttention")) return fusedAttention(q, k, v, heads, { mask });
  const [batch, queries, channels] = q.shape;
  const headDim = channels / heads;
  const splitHeads = (t: tf.Tensor) => t.reshape([batch, -1, heads, headDim]).transpose([0, 2, 1, 3]);
  let scores = tf.matMul(splitHeads(tf.mul(q, 1 / Math.sqrt(headDim))), splitHeads(k), false, true);
  if (mask) scores = tf.add(scores, mask);
  const attended = tf.matMul(tf.softmax(scores), splitHeads(v));
  return attended.transpose([0, 2, 1, 3]).reshape([batch, queries, channels]);
}
