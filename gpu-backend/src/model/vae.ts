/**
 * AutoencoderKL (diffusers), the VAE that maps images to SD's latent space and back. The encoder
 * downsamples with resnet blocks, applies one self-attention at the lowest resolution, and predicts a
 * diagonal Gaussian (mean, log-variance clamped to [-30, 20] as diffusers does); the decoder mirrors
 * it. Latents are used by the UNet multiplied by `scaling_factor` (0.18215 in SD1.x). Images are NHWC
 * in [-1, 1]. Every norm here uses eps 1e-6.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Attention, Downsample2D, ResnetBlock2D, Upsample2D } from "./blocks.js";
import type { VaeConfig } from "./config.js";
import { Conv2d, GroupNorm } from "./layers.js";
import { ParamStore, Scope, type ParamInit } from "./params.js";

const VAE_EPS = 1e-6;

/** The attention of the VAE's mid block: GroupNorm, single-head self-attention over all pixels, residual. */
class SpatialSelfAttention {
  readonly group_norm: GroupNorm;
  readonly attention: Attention;

  constructor(scope: Scope, channels: number, groups: number) {
    this.group_norm = new GroupNorm(scope.child("group_norm"), groups, channels, VAE_EPS);
    // diffusers builds it with attention_head_dim = channels: one head.
    this.attention = new Attention(scope, channels, { heads: 1, qkvBias: true });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [batch, height, width, channels] = x.shape;
    const pixels = this.group_norm.forward(x).reshape([batch, height * width, channels]);
    return tf.add(x, this.attention.forward(pixels).reshape(x.shape));
  }
}

class MidBlock {
  readonly resnets: [ResnetBlock2D, ResnetBlock2D];
  readonly attention: SpatialSelfAttention | undefined;

  constructor(scope: Scope, channels: number, config: VaeConfig) {
    const options = { groups: config.norm_num_groups, eps: VAE_EPS };
    const resnets = scope.child("resnets");
    this.resnets = [new ResnetBlock2D(resnets.child(0), channels, channels, options), new ResnetBlock2D(resnets.child(1), channels, channels, options)];
    this.attention = config.mid_block_add_attention
      ? new SpatialSelfAttention(scope.child("attentions").child(0), channels, config.norm_num_groups)
      : undefined;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    x = this.resnets[0].forward(x);
    if (this.attention) x = this.attention.forward(x);
    return this.resnets[1].forward(x);
  }
}

interface ResolutionLevel {
  resnets: ResnetBlock2D[];
  resample: Downsample2D | Upsample2D | undefined;
}

class Encoder {
  readonly conv_in: Conv2d;
  readonly down_blocks: ResolutionLevel[];
  readonly mid_block: MidBlock;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(scope: Scope, config: VaeConfig) {
    const channels = config.block_out_channels;
    const options = { groups: config.norm_num_groups, eps: VAE_EPS };
    this.conv_in = new Conv2d(scope.child("conv_in"), config.in_channels, channels[0], 3, { padding: 1 });
    this.down_blocks = channels.map((outChannels, i) => {
      const block = scope.child("down_blocks").child(i);
      const inChannels = i === 0 ? channels[0] : channels[i - 1];
      const resnets = Array.from(
        { length: config.layers_per_block },
        (_, j) => new ResnetBlock2D(block.child("resnets").child(j), j === 0 ? inChannels : outChannels, outChannels, options),
      );
      const isFinal = i === channels.length - 1;
      return { resnets, resample: isFinal ? undefined : new Downsample2D(block.child("downsamplers").child(0), outChannels, 0) };
    });
    const deepest = channels[channels.length - 1];
    this.mid_block = new MidBlock(scope.child("mid_block"), deepest, config);
    this.conv_norm_out = new GroupNorm(scope.child("conv_norm_out"), config.norm_num_groups, deepest, VAE_EPS);
    this.conv_out = new Conv2d(scope.child("conv_out"), deepest, 2 * config.latent_channels, 3, { padding: 1 });
  }

  forward(image: tf.Tensor4D): tf.Tensor4D {
    let x = this.conv_in.forward(image);
    for (const level of this.down_blocks) {
      for (const resnet of level.resnets) x = resnet.forward(x);
      if (level.resample) x = level.resample.forward(x);
    }
    x = this.mid_block.forward(x);
    return this.conv_out.forward(this.conv_norm_out.forward(x, { silu: true }));
  }
}

class Decoder {
  readonly conv_in: Conv2d;
  readonly mid_block: MidBlock;
  readonly up_blocks: ResolutionLevel[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(scope: Scope, config: VaeConfig) {
    const reversed = [...config.block_out_channels].reverse();
    const options = { groups: config.norm_num_groups, eps: VAE_EPS };
    this.conv_in = new Conv2d(scope.child("conv_in"), config.latent_channels, reversed[0], 3, { padding: 1 });
    this.mid_block = new MidBlock(scope.child("mid_block"), reversed[0], config);
    this.up_blocks = reversed.map((outChannels, i) => {
      const block = scope.child("up_blocks").child(i);
      const inChannels = i === 0 ? reversed[0] : reversed[i - 1];
      const resnets = Array.from(
        { length: config.layers_per_block + 1 },
        (_, j) => new ResnetBlock2D(block.child("resnets").child(j), j === 0 ? inChannels : outChannels, outChannels, options),
      );
      const isFinal = i === reversed.length - 1;
      return { resnets, resample: isFinal ? undefined : new Upsample2D(block.child("upsamplers").child(0), outChannels) };
    });
    const widest = reversed[reversed.length - 1];
    this.conv_norm_out = new GroupNorm(scope.child("conv_norm_out"), config.norm_num_groups, widest, VAE_EPS);
    this.conv_out = new Conv2d(scope.child("conv_out"), widest, config.out_channels, 3, { padding: 1 });
  }

  forward(latents: tf.Tensor4D): tf.Tensor4D {
    let x = this.mid_block.forward(this.conv_in.forward(latents));
    for (const level of this.up_blocks) {
      for (const resnet of level.resnets) x = resnet.forward(x);
      if (level.resample) x = level.resample.forward(x);
    }
    return this.conv_out.forward(this.conv_norm_out.forward(x, { silu: true }));
  }
}

export interface LatentDistribution {
  mean: tf.Tensor4D;
  /** Clamped to [-30, 20]. */
  logvar: tf.Tensor4D;
  std: tf.Tensor4D;
}

export class AutoencoderKL {
  readonly params: ParamStore;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quant_conv: Conv2d | undefined;
  readonly post_quant_conv: Conv2d | undefined;

  constructor(
    readonly config: VaeConfig,
    init?: ParamInit,
  ) {
    this.params = new ParamStore(init);
    const root = new Scope(this.params);
    const latent = config.latent_channels;
    this.encoder = new Encoder(root.child("encoder"), config);
    this.decoder = new Decoder(root.child("decoder"), config);
    this.quant_conv = config.use_quant_conv ? new Conv2d(root.child("quant_conv"), 2 * latent, 2 * latent, 1) : undefined;
    this.post_quant_conv = config.use_post_quant_conv ? new Conv2d(root.child("post_quant_conv"), latent, latent, 1) : undefined;
  }

  get scalingFactor(): number {
    return this.config.scaling_factor;
  }

  /** image: [B, H, W, in_channels] in [-1, 1] → the latent Gaussian at H/2^(levels-1). */
  encode(image: tf.Tensor4D): LatentDistribution {
    return tf.tidy(() => {
      let moments = this.encoder.forward(image);
      if (this.quant_conv) moments = this.quant_conv.forward(moments);
      const [mean, rawLogvar] = tf.split(moments, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      const logvar = tf.clipByValue(rawLogvar, -30, 20);
      return { mean, logvar, std: tf.exp(tf.mul(logvar, 0.5)) as tf.Tensor4D };
    });
  }

  /** A latent sample mean + std·ε; `noise` is ε (standard normal, same shape), passed in to stay seeded. */
  sample(distribution: LatentDistribution, noise: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.add(distribution.mean, tf.mul(distribution.std, noise)));
  }

  /** latents (unscaled: divide the UNet's latents by scalingFactor first) → image in about [-1, 1]. */
  decode(latents: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decoder.forward(this.post_quant_conv ? this.post_quant_conv.forward(latents) : latents));
  }
}
