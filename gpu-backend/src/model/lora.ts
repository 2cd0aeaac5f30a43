/**
 * LoRA (Hu et al. 2021) for our networks: a low-rank update W + (α/r)·down·up on linear layers and
 * 1×1 convolutions, kept beside the frozen weights rather than merged, so training touches only the
 * adapters and inference can dial the effect with `scale`.
 *
 * API (what the trainer uses):
 * - `createLora(store, { rank, alpha?, targets?, seed? })` → a `LoraSet` with an adapter for every
 *   projection of `store` (a network's `params`) whose module path matches `targets` (default: the
 *   attention projections to_q/to_k/to_v/to_out.0 and CLIP's q_proj/k_proj/v_proj/out_proj). `down`
 *   [in, r] is drawn U(±1/√in) as peft does, `up` [r, out] starts at zero, so the output is unchanged.
 * - `store.lora = set` makes that network's forward passes apply it (`undefined` removes it);
 *   `set.scale` multiplies every adapter's α/r at inference (1 = as trained).
 * - `loraVariables(set)` lists the trainable adapter variables (marked trainable on creation; the
 *   base network's variables stay frozen, see `setTrainable` in params.ts for full fine-tuning).
 * - `disposeLora(set)` frees them.
 * Adapters are keyed by diffusers module path ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"),
 * so a diffusers LoRA file's `unet.<path>.lora_A.weight` is `down` transposed and `lora_B` is `up` transposed.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ParamStore } from "./params.js";

export interface LoraAdapter {
  /** [in, rank] */
  down: tf.Variable;
  /** [rank, out] */
  up: tf.Variable;
  rank: number;
  alpha: number;
}

export interface LoraSet {
  adapters: Map<string, LoraAdapter>;
  /** Inference-time strength; multiplies alpha/rank of every adapter. */
  scale: number;
}

/** Module paths LoRA wraps, by name: the SD attention projections, the feed-forward, CLIP attention. */
export const LORA_TARGETS = {
  attention: /\.attn[12]\.(to_q|to_k|to_v|to_out\.0)$/,
  feedForward: /\.ff\.net\.(0\.proj|2)$/,
  textAttention: /\.self_attn\.(q_proj|k_proj|v_proj|out_proj)$/,
} as const;

export interface LoraOptions {
  rank: number;
  /** Defaults to rank (scale 1), as diffusers' training scripts do. */
  alpha?: number;
  targets?: RegExp[];
  seed?: number;
}

export function createLora(store: ParamStore, { rank, alpha = rank, targets, seed = 0 }: LoraOptions): LoraSet {
  const patterns = targets ?? [LORA_TARGETS.attention, LORA_TARGETS.textAttention];
  const adapters = new Map<string, LoraAdapter>();
  let index = 0;
  for (const [path, { inFeatures, outFeatures }] of store.projections) {
    if (!patterns.some((pattern) => pattern.test(path))) continue;
    const bound = 1 / Math.sqrt(inFeatures);
    const down = tf.tidy(() => tf.randomUniform([inFeatures, rank], -bound, bound, "float32", seed * 100_003 + index++));
    const up = tf.zeros([rank, outFeatures]);
    adapters.set(path, { down: tf.variable(down, true), up: tf.variable(up, true), rank, alpha });
    down.dispose();
    up.dispose();
  }
  if (adapters.size === 0) throw new Error("LoRA targets matched no projection of this network");
  return { adapters, scale: 1 };
}

/** Whether `loraDelta` adds anything to the layer at `path`. */
export function hasLoraAdapter(set: LoraSet | undefined, path: string): set is LoraSet {
  return set !== undefined && set.scale !== 0 && set.adapters.has(path);
}

/** The adapter's contribution for inputs flattened to [N, in], or undefined when the module has none. */
export function loraDelta(set: LoraSet | undefined, path: string, flatInput: tf.Tensor): tf.Tensor | undefined {
  if (!hasLoraAdapter(set, path)) return undefined;
  const adapter = set.adapters.get(path)!;
  return tf.mul(tf.matMul(tf.matMul(flatInput, adapter.down), adapter.up), (set.scale * adapter.alpha) / adapter.rank);
}

export function loraVariables(set: LoraSet): tf.Variable[] {
  return [...set.adapters.values()].flatMap((adapter) => [adapter.down, adapter.up]);
}

export function disposeLora(set: LoraSet): void {
  for (const variable of loraVariables(set)) variable.dispose();
  set.adapters.clear();
}
