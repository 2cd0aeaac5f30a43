/**
 * CLIP's text transformer (transformers' CLIPTextModel), which turns prompt token ids into the
 * embeddings the UNet cross-attends to. Pre-norm transformer layers with a causal mask (each token
 * sees only those before it) and quick_gelu; the final layer norm gives `last_hidden_state`.
 * `penultimateHiddenState` is the second-to-last layer's output before that norm ("clip skip"),
 * and `poolerOutput` the final state at the end-of-text token.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ClipTextConfig } from "./config.js";
import { gelu, LayerNorm, Linear, multiHeadAttention, quickGelu } from "./layers.js";
import { ParamStore, Scope, type ParamInit } from "./params.js";

/** Large enough that softmax gives exactly 0, finite so gradients never see inf − inf. */
const MASKED = -1e9;

class ClipAttention {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;

  constructor(scope: Scope, hidden: number, private readonly heads: number) {
    this.q_proj = new Linear(scope.child("q_proj"), hidden, hidden);
    this.k_proj = new Linear(scope.child("k_proj"), hidden, hidden);
    this.v_proj = new Linear(scope.child("v_proj"), hidden, hidden);
    this.out_proj = new Linear(scope.child("out_proj"), hidden, hidden);
  }

  forward(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
    const attended = multiHeadAttention(this.q_proj.forward(x), this.k_proj.forward(x), this.v_proj.forward(x), this.heads, mask);
    return this.out_proj.forward(attended);
  }
}

class ClipEncoderLayer {
  readonly layer_norm1: LayerNorm;
  readonly self_attn: ClipAttention;
  readonly layer_norm2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(scope: Scope, private readonly config: ClipTextConfig) {
    const { hidden_size: hidden, layer_norm_eps: eps } = config;
    this.layer_norm1 = new LayerNorm(scope.child("layer_norm1"), hidden, eps);
    this.self_attn = new ClipAttention(scope.child("self_attn"), hidden, config.num_attention_heads);
    this.layer_norm2 = new LayerNorm(scope.child("layer_norm2"), hidden, eps);
    this.fc1 = new Linear(scope.child("mlp").child("fc1"), hidden, config.intermediate_size);
    this.fc2 = new Linear(scope.child("mlp").child("fc2"), config.intermediate_size, hidden);
  }

  forward(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
    x = tf.add(x, this.self_attn.forward(this.layer_norm1.forward(x), mask));
    const hidden = this.fc1.forward(this.layer_norm2.forward(x));
    const activated = this.config.hidden_act === "quick_gelu" ? quickGelu(hidden) : gelu(hidden);
    return tf.add(x, this.fc2.forward(activated));
  }
}

export interface ClipTextOutput {
  /** [B, N, hidden], after the final layer norm: what SD1.x conditions on. */
  lastHiddenState: tf.Tensor3D;
  /** [B, N, hidden], the second-to-last layer's output, before the final norm. */
  penultimateHiddenState: tf.Tensor3D;
  /** [B, hidden], the last hidden state at each sequence's end-of-text token. */
  poolerOutput: tf.Tensor2D;
}

export class ClipTextModel {
  readonly params: ParamStore;
  readonly token_embedding: tf.Variable;
  readonly position_embedding: tf.Variable;
  readonly layers: ClipEncoderLayer[];
  readonly final_layer_norm: LayerNorm;

  constructor(
    readonly config: ClipTextConfig,
    init?: ParamInit,
  ) {
    this.params = new ParamStore(init);
    const textModel = new Scope(this.params, "text_model");
    const embeddings = textModel.child("embeddings");
    const { hidden_size: hidden } = config;
    this.token_embedding = embeddings.child("token_embedding").param("weight", [config.vocab_size, hidden], "plain", "fanIn", hidden);
    this.position_embedding = embeddings
      .child("position_embedding")
      .param("weight", [config.max_position_embeddings, hidden], "plain", "fanIn", hidden);
    const layers = textModel.child("encoder").child("layers");
    this.layers = Array.from({ length: config.num_hidden_layers }, (_, i) => new ClipEncoderLayer(layers.child(i), config));
    this.final_layer_norm = new LayerNorm(textModel.child("final_layer_norm"), hidden, config.layer_norm_eps);
  }

  /** inputIds: int32 [B, N] with N ≤ max_position_embeddings. */
  forward(inputIds: tf.Tensor2D): ClipTextOutput {
    return tf.tidy(() => {
      const [batch, length] = inputIds.shape;
      if (length > this.config.max_position_embeddings) {
        throw new Error(`${length} tokens exceed max_position_embeddings ${this.config.max_position_embeddings}`);
      }
      const positions = this.position_embedding.slice([0, 0], [length, this.config.hidden_size]);
      let hidden: tf.Tensor = tf.add(tf.gather(this.token_embedding, inputIds), positions);
      const causalMask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([length, length]), -1, 0)), MASKED).reshape([1, 1, length, length]);
      const states = [hidden];
      for (const layer of this.layers) {
        hidden = layer.forward(hidden, causalMask);
        states.push(hidden);
      }
      const lastHiddenState = this.final_layer_norm.forward(hidden) as tf.Tensor3D;
      // transformers' legacy rule: eos_token_id 2 means "the highest id is the end-of-text token".
      const eosPosition =
        this.config.eos_token_id === 2 ? tf.argMax(inputIds, -1) : tf.argMax(tf.equal(inputIds, this.config.eos_token_id).toInt(), -1);
      // A one-hot matmul instead of gatherND, so the pooled output has a gradient on every backend.
      const pick = tf.oneHot(eosPosition, length).toFloat().reshape([batch, 1, length]);
      const poolerOutput = tf.matMul(pick, lastHiddenState).reshape([batch, this.config.hidden_size]) as tf.Tensor2D;
      return { lastHiddenState, penultimateHiddenState: states[states.length - 2] as tf.Tensor3D, poolerOutput };
    });
  }
}
