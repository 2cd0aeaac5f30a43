/**
 * One replica's share of a data-parallel training step. The trainer draws the whole batch (noise,
 * timesteps, prompts) from its one generator, so the random stream does not depend on how many replicas
 * run; it then cuts the batch into contiguous shards, and every replica computes the loss of its shard
 * weighted by the examples' coefficients (see `exampleCoefficients`) and that loss's gradient. Summing
 * the replicas' losses and gradients gives the whole batch's. Shards are plain typed arrays so they
 * cross to worker threads by structured clone.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ClipTextModel } from "../model/clip-text.js";
import type { UNet2DConditionModel } from "../model/unet.js";
import { weightedExampleLoss } from "./loss.js";

export interface Shard {
  count: number;
  /** [count, h, w, c] noisy latents and the matching targets. */
  noisyLatents: Float32Array;
  target: Float32Array;
  timesteps: number[];
  coefficients: number[];
  /** Frozen prompt embeddings [count, tokens, width] when the text encoder does not train … */
  context?: { values: Float32Array; tokens: number; width: number };
  /** … or the prompts' token ids [count, tokens] when it does. */
  tokenIds?: { values: Int32Array; tokens: number };
}

/** Contiguous [start, end) ranges of `batch` examples over at most `replicas` shards, the larger ones first. */
export function shardRanges(batch: number, replicas: number): Array<[number, number]> {
  const shards = Math.max(1, Math.min(batch, replicas));
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let index = 0; index < shards; index++) {
    const size = Math.floor(batch / shards) + (index < batch % shards ? 1 : 0);
    ranges.push([start, start + size]);
    start += size;
  }
  return ranges;
}

/** Examples [start, end) of a whole-batch shard. */
export function sliceShard(batch: Shard, start: number, end: number): Shard {
  const latentSize = batch.noisyLatents.length / batch.count;
  const { context, tokenIds } = batch;
  const contextSize = context ? context.tokens * context.width : 0;
  return {
    count: end - start,
    noisyLatents: batch.noisyLatents.slice(start * latentSize, end * latentSize),
    target: batch.target.slice(start * latentSize, end * latentSize),
    timesteps: batch.timesteps.slice(start, end),
    coefficients: batch.coefficients.slice(start, end),
    context: context && { ...context, values: context.values.slice(start * contextSize, end * contextSize) },
    tokenIds: tokenIds && { ...tokenIds, values: tokenIds.values.slice(start * tokenIds.tokens, end * tokenIds.tokens) },
  };
}

export interface ShardNetworks {
  unet: UNet2DConditionModel;
  textEncoder: ClipTextModel;
}

/** The shard's weighted loss and its gradient for each trainable variable (by trainable key). */
export function shardGradients(
  networks: ShardNetworks,
  variables: Map<string, tf.Variable>,
  shard: Shard,
  latentShape: [number, number, number],
): { loss: number; gradients: Map<string, tf.Tensor> } {
  const keyOf = new Map([...variables].map(([key, variable]) => [variable.name, key]));
  const { value, grads } = tf.tidy(() => {
    const shape: [number, number, number, number] = [shard.count, ...latentShape];
    const noisyLatents = tf.tensor4d(shard.noisyLatents, shape);
    const target = tf.tensor4d(shard.target, shape);
    const timesteps = tf.tensor1d(shard.timesteps, "float32");
    const computeLoss = () => {
      const context = shard.tokenIds
        ? networks.textEncoder.forward(tf.tensor2d(shard.tokenIds.values, [shard.count, shard.tokenIds.tokens], "int32")).lastHiddenState
        : tf.tensor3d(shard.context!.values, [shard.count, shard.context!.tokens, shard.context!.width]);
      const prediction = networks.unet.forward(noisyLatents, timesteps, context);
      return weightedExampleLoss(prediction, target, shard.coefficients);
    };
    return tf.variableGrads(computeLoss, [...variables.values()]);
  });
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, gradients: new Map(Object.entries(grads).map(([name, gradient]) => [keyOf.get(name)!, gradient])) };
}
