/**
 * The `config.json` files of a diffusers Stable Diffusion folder, as zod schemas. Only the fields our
 * networks read are declared (with diffusers' defaults); everything else passes through untouched, so
 * a config written back is the one we read. Options we do not implement (class embeddings, SDXL's
 * addition embeddings, scale-shift time conditioning, …) are rejected here with a message naming
 * the field, rather than silently computing something else than the checkpoint expects.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";

const positiveInt = z.number().int().positive();
/** A per-block value that diffusers also accepts as one number for every block. */
const perBlock = z.union([positiveInt, z.array(positiveInt)]);

const unsupported = <T extends z.ZodTypeAny>(schema: T, allowed: (value: z.infer<T>) => boolean, why: string) =>
  schema.refine(allowed, { message: why });

export const UNetConfigSchema = z
  .looseObject({
    in_channels: positiveInt.default(4),
    out_channels: positiveInt.default(4),
    block_out_channels: z.array(positiveInt).min(1).default([320, 640, 1280, 1280]),
    down_block_types: z
      .array(z.enum(["CrossAttnDownBlock2D", "DownBlock2D"]))
      .default(["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]),
    up_block_types: z
      .array(z.enum(["UpBlock2D", "CrossAttnUpBlock2D"]))
      .default(["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]),
    mid_block_type: z.enum(["UNetMidBlock2DCrossAttn"]).nullable().default("UNetMidBlock2DCrossAttn"),
    layers_per_block: positiveInt.default(2),
    downsample_padding: z.number().int().min(0).default(1),
    mid_block_scale_factor: unsupported(z.number().default(1), (v) => v === 1, "mid_block_scale_factor other than 1 is not implemented"),
    act_fn: z.literal("silu").default("silu"),
    norm_num_groups: positiveInt.default(32),
    norm_eps: z.number().positive().default(1e-5),
    cross_attention_dim: positiveInt.default(1280),
    /** In SD1.x (a historical misnomer) this is the number of heads, not their width. */
    attention_head_dim: perBlock.default(8),
    num_attention_heads: perBlock.nullable().default(null),
    transformer_layers_per_block: unsupported(perBlock.default(1), (v) => v === 1 || (Array.isArray(v) && v.every((n) => n === 1)), "only 1 transformer layer per block is implemented"),
    use_linear_projection: z.boolean().default(false),
    only_cross_attention: unsupported(z.boolean().default(false), (v) => !v, "only_cross_attention is not implemented"),
    upcast_attention: z.boolean().default(false),
    flip_sin_to_cos: z.boolean().default(true),
    freq_shift: z.number().default(0),
    center_input_sample: z.boolean().default(false),
    resnet_time_scale_shift: z.literal("default").default("default"),
    time_embedding_type: z.literal("positional").default("positional"),
    conv_in_kernel: positiveInt.default(3),
    conv_out_kernel: positiveInt.default(3),
    sample_size: positiveInt.default(64),
    class_embed_type: unsupported(z.unknown().default(null), (v) => v == null, "class embeddings are not implemented"),
    addition_embed_type: unsupported(z.unknown().default(null), (v) => v == null, "addition embeddings (SDXL) are not implemented"),
  })
  .refine((c) => c.down_block_types.length === c.block_out_channels.length, {
    message: "down_block_types and block_out_channels must have the same length",
  })
  .refine((c) => c.up_block_types.length === c.block_out_channels.length, {
    message: "up_block_types and block_out_channels must have the same length",
  })
  .refine(
    (c) => [c.attention_head_dim, c.num_attention_heads].every((heads) => !Array.isArray(heads) || heads.length === c.block_out_channels.length),
    { message: "per-block attention heads must list one value per block" },
  );
export type UNetConfig = z.infer<typeof UNetConfigSchema>;

export const VaeConfigSchema = z.looseObject({
  in_channels: positiveInt.default(3),
  out_channels: positiveInt.default(3),
  latent_channels: positiveInt.default(4),
  block_out_channels: z.array(positiveInt).min(1).default([64]),
  down_block_types: z.array(z.literal("DownEncoderBlock2D")).optional(),
  up_block_types: z.array(z.literal("UpDecoderBlock2D")).optional(),
  layers_per_block: positiveInt.default(1),
  act_fn: z.literal("silu").default("silu"),
  norm_num_groups: positiveInt.default(32),
  sample_size: positiveInt.default(32),
  scaling_factor: z.number().positive().default(0.18215),
  use_quant_conv: z.boolean().default(true),
  use_post_quant_conv: z.boolean().default(true),
  mid_block_add_attention: z.boolean().default(true),
});
export type VaeConfig = z.infer<typeof VaeConfigSchema>;

export const ClipTextConfigSchema = z.looseObject({
  vocab_size: positiveInt.default(49408),
  hidden_size: positiveInt.default(512),
  intermediate_size: positiveInt.default(2048),
  num_hidden_layers: positiveInt.default(12),
  num_attention_heads: positiveInt.default(8),
  max_position_embeddings: positiveInt.default(77),
  hidden_act: z.enum(["quick_gelu", "gelu"]).default("quick_gelu"),
  layer_norm_eps: z.number().positive().default(1e-5),
  pad_token_id: z.number().int().default(1),
  bos_token_id: z.number().int().default(49406),
  /** 2 is transformers' legacy default: the pooled token is then the argmax of the ids (the eos of CLIP's vocab). */
  eos_token_id: z.number().int().default(49407),
});
export type ClipTextConfig = z.infer<typeof ClipTextConfigSchema>;

/** Reads and validates a `config.json`; errors name the file and the offending field. */
export async function readConfig<T extends z.ZodTypeAny>(schema: T, file: string): Promise<z.infer<T>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new Error(`${file}: cannot read config (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: invalid config at "${issue.path.join(".") || "(root)"}": ${issue.message}`);
  }
  return parsed.data;
}
