/**
 * The benchmark's stand-in for DINO and CLIP, which cannot be downloaded here: a small CNN trained on
 * the pretraining scenes to name what an image shows — the emoji class, the background colour and the
 * size word. Its heads answer "does the image satisfy the prompt?" (the CLIP-T analogue); its last
 * feature map, pooled over the foreground only (see subject-features.ts), describes the subject
 * independently of the scene (the DINO/CLIP-I analogue). Four 3×3 convs (the last three with stride
 * 2), each followed by GroupNorm and SiLU, and three linear heads, built from the model core's layers so it loads and saves like any network.
 * A judge may also have an identity head (config `identities`): an embedding trained to tell every
 * individual emoji drawing apart, whatever its background, size or VAE blur. A class head only has to
 * know that two dogs are dogs; the embedding has to know which dog, which is what subject fidelity asks.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Conv2d, GroupNorm, Linear, silu } from "../model/layers.js";
import { ParamStore, Scope, type ParamInit } from "../model/params.js";

/** Label names in head order; "" is the unmarked middle size. */
export interface JudgeConfig {
  classes: string[];
  backgrounds: string[];
  sizes: string[];
  channels: [number, number, number, number];
  /** Names of the individual drawings the identity head tells apart (absent: no identity head). */
  identities?: string[];
  /** Width of the identity embedding. */
  embeddingSize?: number;
}

export interface JudgeOutput {
  /** [B, 4, 4, C] last feature map (32×32 input). */
  featureMap: tf.Tensor4D;
  classLogits: tf.Tensor2D;
  backgroundLogits: tf.Tensor2D;
  sizeLogits: tf.Tensor2D;
  /** [B, embeddingSize]: the identity embedding, with an identity head only. */
  identityEmbedding?: tf.Tensor2D;
  /** [B, identities]: which individual drawing, with an identity head only. */
  identityLogits?: tf.Tensor2D;
}

export class Judge {
  readonly params: ParamStore;
  private readonly convs: Conv2d[];
  private readonly norms: GroupNorm[];
  private readonly classHead: Linear;
  private readonly backgroundHead: Linear;
  private readonly sizeHead: Linear;
  private readonly identity?: { embedding: Linear; head: Linear };

  constructor(
    readonly config: JudgeConfig,
    init?: ParamInit,
  ) {
    this.params = new ParamStore(init);
    const root = new Scope(this.params);
    const [c0, c1, c2, c3] = config.channels;
    this.convs = [
      new Conv2d(root.child("convs").child(0), 3, c0, 3, { padding: 1 }),
      new Conv2d(root.child("convs").child(1), c0, c1, 3, { stride: 2, padding: 1 }),
      new Conv2d(root.child("convs").child(2), c1, c2, 3, { stride: 2, padding: 1 }),
      new Conv2d(root.child("convs").child(3), c2, c3, 3, { stride: 2, padding: 1 }),
    ];
    this.norms = config.channels.map((channels, i) => new GroupNorm(root.child("norms").child(i), 8, channels, 1e-5));
    this.classHead = new Linear(root.child("class_head"), c3, config.classes.length);
    this.backgroundHead = new Linear(root.child("background_head"), c3, config.backgrounds.length);
    this.sizeHead = new Linear(root.child("size_head"), c3, config.sizes.length);
    if (config.identities) {
      const width = config.embeddingSize ?? c3;
      this.identity = {
        embedding: new Linear(root.child("identity_embedding"), c3, width),
        head: new Linear(root.child("identity_head"), width, config.identities.length),
      };
    }
  }

  /** images: [B, 32, 32, 3] in [-1, 1]. */
  forward(images: tf.Tensor4D): JudgeOutput {
    return tf.tidy(() => {
      let x = images;
      this.convs.forEach((conv, i) => (x = silu(this.norms[i].forward(conv.forward(x))) as tf.Tensor4D));
      const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
      const embedding = this.identity ? (this.identity.embedding.forward(pooled) as tf.Tensor2D) : undefined;
      return {
        ...(embedding && this.identity ? { identityEmbedding: embedding, identityLogits: this.identity.head.forward(silu(embedding)) as tf.Tensor2D } : {}),
        featureMap: x,
        classLogits: this.classHead.forward(pooled) as tf.Tensor2D,
        backgroundLogits: this.backgroundHead.forward(pooled) as tf.Tensor2D,
        sizeLogits: this.sizeHead.forward(pooled) as tf.Tensor2D,
      };
    });
  }
}
