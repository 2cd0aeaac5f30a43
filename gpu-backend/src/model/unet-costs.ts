/**
 * What one UNet forward pass costs, block by block, computed from the config alone: the float32 elements
 * of every buffer our tfjs implementation creates (views such as reshapes are free) and the FLOPs of its
 * convolutions, matrix products and attention. The walk mirrors unet.ts, blocks.ts and layers.ts op by
 * op, so a change there that adds or drops a full-size tensor belongs here too; `memory-plan.test.ts`
 * holds the count to measured peaks of real networks. This is what the GPU memory plan is made of.
 */
import type { UNetConfig } from "./config.js";

export interface StepShape {
  /** Examples per step (instance + class with prior preservation). */
  batch: number;
  /** Latent side (image side / 8 for SD). */
  latentSize: number;
  /** Text tokens the cross-attention reads (77 for CLIP). */
  contextLength: number;
}

export interface AttentionChoice {
  /** Queries scored at once; undefined = all. */
  attentionChunk?: number;
  /** LoRA rank on the attention projections (to_q/k/v/out.0), or 0 without adapters. */
  loraRank: number;
}

/** One checkpointable block (resnet or transformer) or an op between blocks. */
export interface BlockCost {
  name: string;
  /** Float32 elements of every buffer the forward pass creates inside the block. */
  created: number;
  /** Float32 elements of the block's output (what a checkpoint keeps). */
  output: number;
  /** Elements of one slice of attention scores when chunked (short-lived, several at once going backwards), else 0. */
  sliceScores: number;
  flops: number;
  checkpointed: boolean;
}

interface Tokens {
  /** Rows: batch × pixels. */
  rows: number;
  pixels: number;
}

const linear = (rows: number, inFeatures: number, outFeatures: number, rank: number) => ({
  // fused matMul + bias; LoRA adds x·down, ·up, ×scale and the sum.
  created: rows * outFeatures + (rank > 0 ? rows * (rank + 3 * outFeatures) : 0),
  flops: 2 * rows * inFeatures * outFeatures + (rank > 0 ? 2 * rows * rank * (inFeatures + outFeatures) : 0),
});

/** GroupNorm: x − μ, its square, x·a, + b. LayerNorm adds x − μ again, the normalised x and ·γ. */
const groupNorm = (elements: number) => 4 * elements;
const layerNorm = (elements: number) => 6 * elements;
/** x·σ(x): the sigmoid and the product. */
const silu = (elements: number) => 2 * elements;

function resnet(name: string, t: Tokens, inChannels: number, outChannels: number, concatenated: boolean): BlockCost {
  const input = t.rows * inChannels;
  const output = t.rows * outChannels;
  const shortcut = inChannels !== outChannels;
  const created =
    (concatenated ? input : 0) + groupNorm(input) + silu(input) + output + output + groupNorm(output) + silu(output) + output + (shortcut ? output : 0) + output;
  const flops = 2 * t.rows * 9 * (inChannels * outChannels + outChannels * outChannels) + (shortcut ? 2 * t.rows * inChannels * outChannels : 0);
  return { name, created, output, sliceScores: 0, flops, checkpointed: true };
}

function attention(t: Tokens, batch: number, channels: number, heads: number, contextRows: number, contextDim: number, choice: AttentionChoice) {
  const perExampleKeys = contextRows / batch;
  const projections = [
    linear(t.rows, channels, channels, choice.loraRank),
    linear(contextRows, contextDim, channels, choice.loraRank),
    linear(contextRows, contextDim, channels, choice.loraRank),
    linear(t.rows, channels, channels, choice.loraRank),
  ];
  const scores = heads * t.rows * perExampleKeys;
  // Any chunk size takes the custom-gradient path, which keeps no scores for the backward pass.
  const chunked = choice.attentionChunk !== undefined;
  const chunk = Math.min(choice.attentionChunk ?? t.pixels, t.pixels);
  // q·scale and the heads-major copies of q, k, v; the attended values and their transpose back.
  const reshuffles = 2 * t.rows * channels + 2 * contextRows * channels + 2 * t.rows * channels;
  return {
    created: projections.reduce((sum, p) => sum + p.created, 0) + reshuffles + (chunked ? 0 : 2 * scores),
    sliceScores: chunked ? scores * (chunk / t.pixels) : 0,
    flops: projections.reduce((sum, p) => sum + p.flops, 0) + 4 * t.rows * perExampleKeys * channels,
  };
}

function transformer(name: string, t: Tokens, batch: number, channels: number, heads: number, shape: StepShape, contextDim: number, choice: AttentionChoice): BlockCost {
  const x = t.rows * channels;
  const self = attention(t, batch, channels, heads, t.rows, channels, choice);
  const cross = attention(t, batch, channels, heads, batch * shape.contextLength, contextDim, choice);
  const inner = 4 * channels;
  const feedForward = {
    // proj to 2·inner, the two halves, exact GELU (5 element-wise steps), the product, out.
    created: t.rows * 2 * inner + t.rows * 2 * inner + 5 * t.rows * inner + t.rows * inner + x,
    flops: 2 * t.rows * channels * 2 * inner + 2 * t.rows * inner * channels,
  };
  const created =
    groupNorm(x) + x /* proj_in */ + layerNorm(x) + self.created + x + layerNorm(x) + cross.created + x + layerNorm(x) + feedForward.created + x + x /* proj_out */ + x;
  const flops = 2 * 2 * t.rows * channels * channels + self.flops + cross.flops + feedForward.flops;
  return { name, created, output: x, sliceScores: Math.max(self.sliceScores, cross.sliceScores), flops, checkpointed: true };
}

const op = (name: string, created: number, output: number, flops = 0): BlockCost => ({ name, created, output, sliceScores: 0, flops, checkpointed: false });

function headsPerBlock(config: UNetConfig): number[] {
  const heads = config.num_attention_heads ?? config.attention_head_dim;
  return Array.isArray(heads) ? heads : config.block_out_channels.map(() => heads);
}

/** The forward pass of `config` at `shape`, in execution order. */
export function unetForwardCosts(config: UNetConfig, shape: StepShape, choice: AttentionChoice): BlockCost[] {
  const channels = config.block_out_channels;
  const heads = headsPerBlock(config);
  const contextDim = config.cross_attention_dim;
  const tokens = (side: number): Tokens => ({ rows: shape.batch * side * side, pixels: side * side });
  const costs: BlockCost[] = [];
  let side = shape.latentSize;
  let width = channels[0];
  costs.push(op("conv_in", tokens(side).rows * width, tokens(side).rows * width, 2 * tokens(side).rows * 9 * config.in_channels * width));
  const skipWidths: number[] = [width];

  config.down_block_types.forEach((type, i) => {
    for (let j = 0; j < config.layers_per_block; j++) {
      costs.push(resnet(`down_blocks.${i}.resnets.${j}`, tokens(side), width, channels[i], false));
      width = channels[i];
      if (type === "CrossAttnDownBlock2D") costs.push(transformer(`down_blocks.${i}.attentions.${j}`, tokens(side), shape.batch, width, heads[i], shape, contextDim, choice));
      skipWidths.push(width);
    }
    if (i < channels.length - 1) {
      const padded = shape.batch * (side + 2) * (side + 2) * width;
      side /= 2;
      costs.push(op(`down_blocks.${i}.downsamplers.0`, padded + tokens(side).rows * width, tokens(side).rows * width, 2 * tokens(side).rows * 9 * width * width));
      skipWidths.push(width);
    }
  });

  costs.push(resnet("mid_block.resnets.0", tokens(side), width, width, false));
  costs.push(transformer("mid_block.attentions.0", tokens(side), shape.batch, width, heads[heads.length - 1], shape, contextDim, choice));
  costs.push(resnet("mid_block.resnets.1", tokens(side), width, width, false));

  const reversed = [...channels].reverse();
  const reversedHeads = [...heads].reverse();
  config.up_block_types.forEach((type, i) => {
    for (let j = 0; j < config.layers_per_block + 1; j++) {
      const skip = skipWidths.pop()!;
      costs.push(resnet(`up_blocks.${i}.resnets.${j}`, tokens(side), width + skip, reversed[i], true));
      width = reversed[i];
      if (type === "CrossAttnUpBlock2D") costs.push(transformer(`up_blocks.${i}.attentions.${j}`, tokens(side), shape.batch, width, reversedHeads[i], shape, contextDim, choice));
    }
    if (i < reversed.length - 1) {
      const input = tokens(side).rows * width;
      side *= 2;
      // upsampleNearest2x: two concatenations (2× then 4× the input), then the 3×3 convolution.
      costs.push(op(`up_blocks.${i}.upsamplers.0`, 2 * input + 4 * input + tokens(side).rows * width, tokens(side).rows * width, 2 * tokens(side).rows * 9 * width * width));
    }
  });

  const out = tokens(side).rows;
  costs.push(op("conv_norm_out", groupNorm(out * width) + silu(out * width) + out * config.out_channels, out * config.out_channels, 2 * out * 9 * width * config.out_channels));
  return costs;
}
