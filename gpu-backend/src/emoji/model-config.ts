/**
 * The embedded base model's architecture (v2): Stable Diffusion's three networks at a size that
 * pretrains on two CPU cores in hours. 32×32 images, a three-level VAE (4× down to 8×8×8 latents: v1's
 * 8×8×4 erased what told one drawing from another, and twice the channels cost the UNet almost
 * nothing at 8×8), a two-layer CLIP text encoder over the caption vocabulary (16 tokens: our longest
 * caption is 11), and a two-level 64/128-channel UNet (about 4 M parameters) with cross-attention at
 * both levels. The scheduler is SD1.5's (`SD15_SCHEDULER_CONFIG`). A committed model keeps its own
 * config.json files; these are what the next `npm run pretrain` builds.
 */
import { ClipTextConfigSchema, UNetConfigSchema, VaeConfigSchema } from "../model/config.js";

export const MAX_CAPTION_TOKENS = 16;

export const emojiVaeConfig = VaeConfigSchema.parse({
  block_out_channels: [32, 64, 64],
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  latent_channels: 8,
  sample_size: 32,
  mid_block_add_attention: false,
});

export function emojiTextConfig(vocabSize: number) {
  return ClipTextConfigSchema.parse({
    vocab_size: vocabSize,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: MAX_CAPTION_TOKENS,
    hidden_act: "quick_gelu",
    pad_token_id: vocabSize - 1,
    bos_token_id: vocabSize - 2,
    eos_token_id: vocabSize - 1,
  });
}

export const emojiUNetConfig = UNetConfigSchema.parse({
  in_channels: 8,
  out_channels: 8,
  block_out_channels: [64, 128],
  down_block_types: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
  up_block_types: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  cross_attention_dim: 64,
  attention_head_dim: 8,
  sample_size: 8,
});
