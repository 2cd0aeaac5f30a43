/**
 * The diffusers blocks the UNet and the VAE share: ResnetBlock2D (two GroupNorm→SiLU→conv steps with
 * an optional timestep bias between them), Downsample2D, Upsample2D and the `Attention` module's
 * projections. Names and eps follow diffusers, so checkpoint tensors land where they belong.
 */
import * as tf from "@tensorflow/tfjs-core";
import { upsampleNearest2x } from "../tensor/upsample.js";
import { chunkedAttention } from "./chunked-attention.js";
import { Conv2d, GroupNorm, Linear, multiHeadAttention, silu } from "./layers.js";
import type { Scope } from "./params.js";

export interface ResnetOptions {
  groups: number;
  eps: number;
  /** Width of the timestep embedding (UNet); absent in the VAE, which has no timestep. */
  tembChannels?: number;
}

export class ResnetBlock2D {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj: Linear | undefined;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut: Conv2d | undefined;
  /** Module path, by which gradient checkpointing finds the block's trainable weights. */
  readonly path: string;

  constructor(scope: Scope, inChannels: number, outChannels: number, { groups, eps, tembChannels }: ResnetOptions) {
    this.path = scope.path;
    this.norm1 = new GroupNorm(scope.child("norm1"), groups, inChannels, eps);
    this.conv1 = new Conv2d(scope.child("conv1"), inChannels, outChannels, 3, { padding: 1 });
    this.time_emb_proj = tembChannels ? new Linear(scope.child("time_emb_proj"), tembChannels, outChannels) : undefined;
    this.norm2 = new GroupNorm(scope.child("norm2"), groups, outChannels, eps);
    this.conv2 = new Conv2d(scope.child("conv2"), outChannels, outChannels, 3, { padding: 1 });
    this.conv_shortcut = inChannels !== outChannels ? new Conv2d(scope.child("conv_shortcut"), inChannels, outChannels, 1) : undefined;
  }

  /** x: [B, H, W, in]; temb: [B, tembChannels] when the block has a time projection. */
  forward(x: tf.Tensor4D, temb?: tf.Tensor2D): tf.Tensor4D {
    let hidden = this.conv1.forward(this.norm1.forward(x, { silu: true }));
    if (this.time_emb_proj && temb) {
      const [batch] = temb.shape;
      const timeBias = this.time_emb_proj.forward(silu(temb)).reshape([batch, 1, 1, -1]);
      hidden = tf.add(hidden, timeBias);
    }
    hidden = this.conv2.forward(this.norm2.forward(hidden, { silu: true }));
    const shortcut = this.conv_shortcut ? this.conv_shortcut.forward(x) : x;
    return tf.add(shortcut, hidden);
  }
}

export class Downsample2D {
  readonly conv: Conv2d;

  /** padding 1 (UNet) pads every side; padding 0 (VAE) means diffusers' asymmetric pad right/bottom by 1. */
  constructor(scope: Scope, channels: number, padding: number) {
    this.conv = new Conv2d(scope.child("conv"), channels, channels, 3, {
      stride: 2,
      padding: padding === 0 ? [0, 1, 0, 1] : padding,
    });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.forward(x);
  }
}

export class Upsample2D {
  readonly conv: Conv2d;

  constructor(scope: Scope, channels: number) {
    this.conv = new Conv2d(scope.child("conv"), channels, channels, 3, { padding: 1 });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.forward(upsampleNearest2x(x));
  }
}

export interface AttentionOptions {
  heads: number;
  /** Width of the keys/values source when it is not x itself (cross-attention). */
  contextDim?: number;
  /** q/k/v biases: true in the VAE, false in the UNet's transformer blocks. */
  qkvBias: boolean;
}

/** diffusers `Attention`: q from x, k/v from x or a context, heads split, `to_out.0` projection. */
export class Attention {
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: Linear;
  private readonly heads: number;

  constructor(scope: Scope, channels: number, { heads, contextDim = channels, qkvBias }: AttentionOptions) {
    this.heads = heads;
    this.to_q = new Linear(scope.child("to_q"), channels, channels, { bias: qkvBias });
    this.to_k = new Linear(scope.child("to_k"), contextDim, channels, { bias: qkvBias });
    this.to_v = new Linear(scope.child("to_v"), contextDim, channels, { bias: qkvBias });
    this.to_out = new Linear(scope.child("to_out").child(0), channels, channels);
  }

  /** x: [B, N, C]; context: [B, M, contextDim] (defaults to x); `chunk`: score at most that many queries at once. */
  forward(x: tf.Tensor, context: tf.Tensor = x, chunk?: number): tf.Tensor {
    const [q, k, v] = [this.to_q.forward(x), this.to_k.forward(context), this.to_v.forward(context)];
    const attended = chunk ? chunkedAttention(q, k, v, this.heads, chunk) : multiHeadAttention(q, k, v, this.heads);
    return this.to_out.forward(attended);
  }
}
