import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClipTextModel } from "./clip-text.js";
import { ClipTextConfigSchema, readConfig, UNetConfigSchema, VaeConfigSchema } from "./config.js";
import { parityDir, useBackend } from "./parity-fixtures.js";
import { SD15_CONFIG_FILES } from "./sd15-configs.js";
import { UNet2DConditionModel } from "./unet.js";
import { AutoencoderKL } from "./vae.js";
import { torchShape } from "./weights.js";

const { unet: sd15Unet, vae: sd15Vae, text_encoder: sd15TextEncoder } = SD15_CONFIG_FILES;

let dir: string;
beforeAll(async () => {
  await useBackend("cpu");
  dir = await mkdtemp(path.join(tmpdir(), "config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("SD1.5 configs build through the same code as the tiny ones", () => {
  // Parameter counts of the published SD1.5 networks (diffusers/transformers `num_parameters()`).
  it("UNet: 859,520,964 parameters, PyTorch shapes as in the checkpoint", () => {
    const config = UNetConfigSchema.parse(sd15Unet);
    expect(config._class_name).toBe("UNet2DConditionModel");
    const unet = new UNet2DConditionModel(config, { kind: "shapes" });
    expect(unet.params.parameterCount).toBe(859_520_964);
    const declared = (name: string) => {
      const entry = unet.params.declared.get(name)!;
      return torchShape(entry.shape, entry.layout);
    };
    expect(declared("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight")).toEqual([320, 768]);
    expect(declared("down_blocks.0.attentions.0.proj_in.weight")).toEqual([320, 320, 1, 1]);
    expect(declared("up_blocks.1.resnets.2.conv_shortcut.weight")).toEqual([1280, 1920, 1, 1]);
    expect(declared("mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight")).toEqual([10240, 1280]);
    expect(declared("time_embedding.linear_1.weight")).toEqual([1280, 320]);
    unet.params.dispose();
  });

  it("VAE: 83,653,863 parameters, scaling factor 0.18215 by default", () => {
    const config = VaeConfigSchema.parse(sd15Vae);
    expect(config.scaling_factor).toBe(0.18215);
    const vae = new AutoencoderKL(config, { kind: "shapes" });
    expect(vae.params.parameterCount).toBe(83_653_863);
    vae.params.dispose();
  });

  it("text encoder: 123,060,480 parameters", () => {
    const text = new ClipTextModel(ClipTextConfigSchema.parse(sd15TextEncoder), { kind: "shapes" });
    expect(text.params.parameterCount).toBe(123_060_480);
    text.params.dispose();
  });

  it("reads the parity networks' config.json files, keeping unknown fields", async () => {
    const unet = await readConfig(UNetConfigSchema, path.join(parityDir("unet_sd15_4lvl"), "config.json"));
    expect(unet.block_out_channels).toEqual([32, 32, 64, 64]);
    expect(unet._diffusers_version).toBe("0.30.3");
    const clip = await readConfig(ClipTextConfigSchema, path.join(parityDir("clip_text_tiny"), "config.json"));
    expect(clip.hidden_act).toBe("quick_gelu");
  });
});

describe("config errors", () => {
  it("rejects options we do not implement, naming the field", () => {
    const result = UNetConfigSchema.safeParse({ ...sd15Unet, class_embed_type: "timestep" });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].path).toEqual(["class_embed_type"]);
    expect(UNetConfigSchema.safeParse({ ...sd15Unet, resnet_time_scale_shift: "scale_shift" }).success).toBe(false);
  });

  it("rejects block lists of different lengths", () => {
    const result = UNetConfigSchema.safeParse({ ...sd15Unet, block_out_channels: [320, 640] });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].message).toMatch(/same length/);
  });

  it("rejects per-block head counts that do not cover every block, and widths heads do not divide", () => {
    expect(UNetConfigSchema.safeParse({ ...sd15Unet, attention_head_dim: [5, 10] }).success).toBe(false);
    const config = UNetConfigSchema.parse({ ...sd15Unet, block_out_channels: [32, 64, 96, 96], attention_head_dim: 5, norm_num_groups: 8 });
    expect(() => new UNet2DConditionModel(config, { kind: "shapes" })).toThrow(/down_blocks\.0\.attentions\.0: 32 channels do not split into 5 attention heads/);
  });

  it("names the file and the field when reading fails", async () => {
    const broken = path.join(dir, "broken.json");
    await writeFile(broken, "{");
    await expect(readConfig(VaeConfigSchema, broken)).rejects.toThrow(/broken\.json: cannot read config/);
    const wrong = path.join(dir, "wrong.json");
    await writeFile(wrong, JSON.stringify({ ...sd15Vae, latent_channels: "four" }));
    await expect(readConfig(VaeConfigSchema, wrong)).rejects.toThrow(/wrong\.json: invalid config at "latent_channels"/);
  });
});
