/**
 * UNet2DConditionModel (diffusers), SD1.x's noise predictor: given noisy latents, a timestep and the
 * text encoder's hidden states, it predicts the noise (or v). Read top to bottom: a sinusoidal
 * timestep embedding; down blocks (resnets, each followed in CrossAttn blocks by a Transformer2DModel
 * attending to the text) that halve the resolution; a mid block; up blocks that consume the down
 * path's outputs as skip connections in reverse order and double the resolution; norm, SiLU, conv.
 * Latents are NHWC. In SD1.x configs `attention_head_dim` is the number of heads (diffusers' naming
 * quirk), and each transformer's width is the block's channel count.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Attention, Downsample2D, ResnetBlock2D, Upsample2D } from "./blocks.js";
import { checkpoint, trainableVariablesUnder } from "./checkpointing.js";
import type { UNetConfig } from "./config.js";
import { Conv2d, gelu, GroupNorm, LayerNorm, Linear, silu } from "./layers.js";
import { fusedGeglu, hasGegluKernels } from "../tensor/geglu.js";
import { switchOn } from "../tensor/speed-switches.js";
import { ParamStore, Scope, type ParamInit } from "./params.js";

/** GEGLU feed-forward: proj to 2×4C, `hidden * gelu(gate)` with the halves in that order, back to C. */
class FeedForward {
  readonly proj: Linear;
  readonly out: Linear;

  constructor(scope: Scope, channels: number) {
    const inner = 4 * channels;
    this.proj = new Linear(scope.child("net").child(0).child("proj"), channels, 2 * inner);
    this.out = new Linear(scope.child("net").child(2), inner, channels);
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (switchOn("fusedGeglu") && hasGegluKernels()) return this.out.forward(fusedGeglu(this.proj.forward(x)));
    const [hidden, gate] = tf.split(this.proj.forward(x), 2, -1);
    return this.out.forward(tf.mul(hidden, gelu(gate)));
  }
}

/** Self-attention, cross-attention to the text, feed-forward; each pre-normed and residual. */
class BasicTransformerBlock {
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm;
  readonly attn2: Attention;
  readonly norm3: LayerNorm;
  readonly ff: FeedForward;

  constructor(scope: Scope, channels: number, heads: number, crossAttentionDim: number) {
    this.norm1 = new LayerNorm(scope.child("norm1"), channels, 1e-5);
    this.attn1 = new Attention(scope.child("attn1"), channels, { heads, qkvBias: false });
    this.norm2 = new LayerNorm(scope.child("norm2"), channels, 1e-5);
    this.attn2 = new Attention(scope.child("attn2"), channels, { heads, contextDim: crossAttentionDim, qkvBias: false });
    this.norm3 = new LayerNorm(scope.child("norm3"), channels, 1e-5);
    this.ff = new FeedForward(scope.child("ff"), channels);
  }

  forward(x: tf.Tensor, context: tf.Tensor, attentionChunk?: number): tf.Tensor {
    x = tf.add(x, this.attn1.forward(this.norm1.forward(x), undefined, attentionChunk));
    x = tf.add(x, this.attn2.forward(this.norm2.forward(x), context, attentionChunk));
    return tf.add(x, this.ff.forward(this.norm3.forward(x)));
  }
}

/** Transformer2DModel: GroupNorm (eps 1e-6), proj_in, transformer over pixels, proj_out, residual. */
class Transformer2DModel {
  readonly norm: GroupNorm;
  readonly proj_in: Conv2d | Linear;
  readonly transformer_blocks: BasicTransformerBlock[];
  readonly proj_out: Conv2d | Linear;
  /** Module path, by which gradient checkpointing finds the block's trainable weights. */
  readonly path: string;

  constructor(scope: Scope, channels: number, heads: number, config: UNetConfig) {
    this.path = scope.path;
    if (channels % heads !== 0) throw new Error(`${scope.path}: ${channels} channels do not split into ${heads} attention heads`);
    this.norm = new GroupNorm(scope.child("norm"), config.norm_num_groups, channels, 1e-6);
    // SD1.x stores proj_in/proj_out as 1×1 convolutions; SD2.x (use_linear_projection) as linear layers.
    const projection = (name: string) =>
      config.use_linear_projection ? new Linear(scope.child(name), channels, channels) : new Conv2d(scope.child(name), channels, channels, 1);
    this.proj_in = projection("proj_in");
    this.transformer_blocks = [new BasicTransformerBlock(scope.child("transformer_blocks").child(0), channels, heads, config.cross_attention_dim)];
    this.proj_out = projection("proj_out");
  }

  forward(x: tf.Tensor4D, context: tf.Tensor, attentionChunk?: number): tf.Tensor4D {
    const [batch, height, width, channels] = x.shape;
    // A 1×1 conv and a linear layer over channels are the same computation on NHWC.
    let hidden = this.proj_in.forward(this.norm.forward(x)).reshape([batch, height * width, channels]);
    for (const block of this.transformer_blocks) hidden = block.forward(hidden, context, attentionChunk);
    return tf.add(x, this.proj_out.forward(hidden.reshape(x.shape) as tf.Tensor4D)) as tf.Tensor4D;
  }
}

/** One resolution level: resnets, each optionally followed by a transformer, then maybe a resample. */
interface UNetLevel {
  resnets: ResnetBlock2D[];
  attentions: Transformer2DModel[];
  resample: Downsample2D | Upsample2D | undefined;
}

function headsPerBlock(config: UNetConfig): number[] {
  const heads = config.num_attention_heads ?? config.attention_head_dim;
  return Array.isArray(heads) ? heads : config.block_out_channels.map(() => heads);
}

/** Sinusoidal timestep features, diffusers' get_timestep_embedding: [B] → [B, dim]. */
export function timestepEmbedding(timesteps: tf.Tensor1D, dim: number, flipSinToCos: boolean, freqShift: number): tf.Tensor2D {
  return tf.tidy(() => {
    const half = Math.floor(dim / 2);
    const frequencies = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / (half - freqShift)));
    const angles = tf.mul(timesteps.reshape([-1, 1]), tf.tensor2d(frequencies, [1, half]));
    const [first, second] = flipSinToCos ? [tf.cos(angles), tf.sin(angles)] : [tf.sin(angles), tf.cos(angles)];
    const embedding = tf.concat([first, second], 1);
    return (dim % 2 === 1 ? tf.pad(embedding, [[0, 0], [0, 1]]) : embedding) as tf.Tensor2D;
  });
}

/**
 * Memory for time, for training (both off by default): `gradientCheckpointing` recomputes each resnet and
 * transformer block in the backward pass (checkpointing.ts); `attentionChunk` scores at most that many
 * queries at once (chunked-attention.ts). Results are the same either way.
 */
export interface UNetMemoryOptions {
  gradientCheckpointing: boolean;
  attentionChunk?: number;
}

export class UNet2DConditionModel {
  readonly params: ParamStore;
  memory: UNetMemoryOptions = { gradientCheckpointing: false };
  readonly time_embedding: { linear_1: Linear; linear_2: Linear };
  readonly conv_in: Conv2d;
  readonly down_blocks: UNetLevel[];
  readonly mid_block: UNetLevel;
  readonly up_blocks: UNetLevel[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(
    readonly config: UNetConfig,
    init?: ParamInit,
  ) {
    this.params = new ParamStore(init);
    const root = new Scope(this.params);
    const channels = config.block_out_channels;
    const timeDim = 4 * channels[0];
    const heads = headsPerBlock(config);
    const resnetOptions = { groups: config.norm_num_groups, eps: config.norm_eps, tembChannels: timeDim };
    const resnet = (scope: Scope, inChannels: number, outChannels: number) => new ResnetBlock2D(scope, inChannels, outChannels, resnetOptions);
    const transformer = (scope: Scope, width: number, headCount: number) => new Transformer2DModel(scope, width, headCount, config);

    this.time_embedding = {
      linear_1: new Linear(root.child("time_embedding").child("linear_1"), channels[0], timeDim),
      linear_2: new Linear(root.child("time_embedding").child("linear_2"), timeDim, timeDim),
    };
    this.conv_in = new Conv2d(root.child("conv_in"), config.in_channels, channels[0], config.conv_in_kernel, {
      padding: (config.conv_in_kernel - 1) / 2,
    });

    this.down_blocks = config.down_block_types.map((type, i) => {
      const block = root.child("down_blocks").child(i);
      const inChannels = i === 0 ? channels[0] : channels[i - 1];
      const outChannels = channels[i];
      const isFinal = i === channels.length - 1;
      return {
        resnets: Array.from({ length: config.layers_per_block }, (_, j) =>
          resnet(block.child("resnets").child(j), j === 0 ? inChannels : outChannels, outChannels),
        ),
        attentions:
          type === "CrossAttnDownBlock2D"
            ? Array.from({ length: config.layers_per_block }, (_, j) => transformer(block.child("attentions").child(j), outChannels, heads[i]))
            : [],
        resample: isFinal ? undefined : new Downsample2D(block.child("downsamplers").child(0), outChannels, config.downsample_padding),
      };
    });

    const deepest = channels[channels.length - 1];
    const mid = root.child("mid_block");
    this.mid_block = {
      resnets: [resnet(mid.child("resnets").child(0), deepest, deepest), resnet(mid.child("resnets").child(1), deepest, deepest)],
      attentions: [transformer(mid.child("attentions").child(0), deepest, heads[heads.length - 1])],
      resample: undefined,
    };

    const reversed = [...channels].reverse();
    const reversedHeads = [...heads].reverse();
    this.up_blocks = config.up_block_types.map((type, i) => {
      const block = root.child("up_blocks").child(i);
      const previousOut = i === 0 ? reversed[0] : reversed[i - 1];
      const outChannels = reversed[i];
      // The channels of the down-path output this block's last resnet concatenates (one level deeper).
      const skipFromDeeper = reversed[Math.min(i + 1, reversed.length - 1)];
      const layers = config.layers_per_block + 1;
      const isFinal = i === reversed.length - 1;
      return {
        resnets: Array.from({ length: layers }, (_, j) => {
          const skipChannels = j === layers - 1 ? skipFromDeeper : outChannels;
          return resnet(block.child("resnets").child(j), (j === 0 ? previousOut : outChannels) + skipChannels, outChannels);
        }),
        attentions:
          type === "CrossAttnUpBlock2D"
            ? Array.from({ length: layers }, (_, j) => transformer(block.child("attentions").child(j), outChannels, reversedHeads[i]))
            : [],
        resample: isFinal ? undefined : new Upsample2D(block.child("upsamplers").child(0), outChannels),
      };
    });

    this.conv_norm_out = new GroupNorm(root.child("conv_norm_out"), config.norm_num_groups, channels[0], config.norm_eps);
    this.conv_out = new Conv2d(root.child("conv_out"), channels[0], config.out_channels, config.conv_out_kernel, {
      padding: (config.conv_out_kernel - 1) / 2,
    });
  }

  /**
   * sample: noisy latents [B, H, W, in_channels]; timesteps: [B] (float, integer-valued in SD);
   * encoderHiddenStates: text embeddings [B, M, cross_attention_dim]. Returns [B, H, W, out_channels].
   */
  forward(sample: tf.Tensor4D, timesteps: tf.Tensor1D, encoderHiddenStates: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const { config } = this;
      const [batch] = sample.shape;
      const steps = timesteps.size === 1 ? tf.broadcastTo(timesteps.reshape([1]), [batch]) : timesteps;
      const timeFeatures = timestepEmbedding(steps.toFloat() as tf.Tensor1D, config.block_out_channels[0], config.flip_sin_to_cos, config.freq_shift);
      const temb = this.time_embedding.linear_2.forward(silu(this.time_embedding.linear_1.forward(timeFeatures))) as tf.Tensor2D;

      let x = this.conv_in.forward(config.center_input_sample ? (tf.sub(tf.mul(sample, 2), 1) as tf.Tensor4D) : sample);
      const chunk = this.memory.attentionChunk;
      const resnetStep = (resnet: ResnetBlock2D, input: tf.Tensor4D) => this.block(resnet.path, (h, t) => resnet.forward(h, t), [input, temb]);
      const attentionStep = (attention: Transformer2DModel, input: tf.Tensor4D) =>
        this.block(attention.path, (h, context) => attention.forward(h, context, chunk), [input, encoderHiddenStates]);
      const skips: tf.Tensor4D[] = [x];
      for (const level of this.down_blocks) {
        level.resnets.forEach((resnet, j) => {
          x = resnetStep(resnet, x);
          if (level.attentions[j]) x = attentionStep(level.attentions[j], x);
          skips.push(x);
        });
        if (level.resample) {
          x = level.resample.forward(x);
          skips.push(x);
        }
      }

      x = resnetStep(this.mid_block.resnets[0], x);
      x = attentionStep(this.mid_block.attentions[0], x);
      x = resnetStep(this.mid_block.resnets[1], x);

      for (const level of this.up_blocks) {
        level.resnets.forEach((resnet, j) => {
          const skip = skips.pop()!;
          // The concatenation happens inside the block, so a checkpoint keeps x and the skip, not both again.
          x = this.block(resnet.path, (h, s, t) => resnet.forward(tf.concat([h, s], 3), t), [x, skip, temb]);
          if (level.attentions[j]) x = attentionStep(level.attentions[j], x);
        });
        if (level.resample) x = level.resample.forward(x);
      }

      return this.conv_out.forward(this.conv_norm_out.forward(x, { silu: true }));
    });
  }

  /** Runs one resnet or transformer block, through a checkpoint when gradient checkpointing is on. */
  private block<I extends [tf.Tensor, ...tf.Tensor[]]>(path: string, forward: (...inputs: I) => tf.Tensor4D, inputs: I): tf.Tensor4D {
    if (!this.memory.gradientCheckpointing) return forward(...inputs);
    return checkpoint(forward, inputs, trainableVariablesUnder(this.params, path));
  }
}
