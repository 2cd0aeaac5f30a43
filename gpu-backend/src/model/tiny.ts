/**
 * Tiny configurations of the three networks: SD1.x's structure (every block type, cross-attention,
 * skips, VAE mid attention, causal text encoder) at widths that train in seconds on a CPU. They go
 * through the same schemas and code as SD1.5's configs; tests, the trainer's CPU runs and the
 * benchmark share them so "tiny" means one thing.
 */
import { ClipTextConfigSchema, UNetConfigSchema, VaeConfigSchema } from "./config.js";

/** 49408 would make the token table the largest tensor; ids above 999 are the tests' business to avoid. */
export const tinyClipTextConfig = ClipTextConfigSchema.parse({
  vocab_size: 1000,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 77,
  bos_token_id: 998,
  eos_token_id: 999,
});

export const tinyUNetConfig = UNetConfigSchema.parse({
  block_out_channels: [32, 64],
  down_block_types: ["CrossAttnDownBlock2D", "DownBlock2D"],
  up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  cross_attention_dim: tinyClipTextConfig.hidden_size,
  attention_head_dim: 4,
  sample_size: 16,
});

/** SD1.5's block layout at 3/20 of its widths (48…192 channels): ~15 M parameters, for 32×32 latents (benchmarks, memory measurements). */
export const smallUNetConfig = UNetConfigSchema.parse({
  block_out_channels: [48, 96, 192, 192],
  norm_num_groups: 16,
  cross_attention_dim: 256,
  attention_head_dim: 8,
  sample_size: 32,
});

/** Two levels: images are 2× the latent size (SD's VAE has four levels, 8×). */
export const tinyVaeConfig = VaeConfigSchema.parse({
  block_out_channels: [32, 64],
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  latent_channels: 4,
  sample_size: 32,
});
