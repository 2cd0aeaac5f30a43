/**
 * Loads the three networks of a Stable Diffusion 1.x folder in diffusers' layout (`unet/`, `vae/`,
 * `text_encoder/`, each a config.json plus safetensors weights), strictly: a checkpoint that does not
 * match its config exactly fails here, naming the tensors, instead of rendering noise later. The
 * tokenizer and scheduler configs in the same folder are read by their own modules.
 */
import path from "node:path";
import { ClipTextModel } from "./clip-text.js";
import { ClipTextConfigSchema, UNetConfigSchema, VaeConfigSchema } from "./config.js";
import { UNet2DConditionModel } from "./unet.js";
import { AutoencoderKL } from "./vae.js";
import { loadPretrained } from "./weights.js";

export interface StableDiffusionNetworks {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  textEncoder: ClipTextModel;
}

/** `variant` picks e.g. the "fp16" weight files (converted to float32 on load). */
export async function loadStableDiffusion(dir: string, { variant }: { variant?: string } = {}): Promise<StableDiffusionNetworks> {
  const loaded: Partial<StableDiffusionNetworks> = {};
  try {
    loaded.textEncoder = await loadPretrained(path.join(dir, "text_encoder"), ClipTextConfigSchema, (c, init) => new ClipTextModel(c, init), { variant });
    loaded.vae = await loadPretrained(path.join(dir, "vae"), VaeConfigSchema, (c, init) => new AutoencoderKL(c, init), { variant });
    loaded.unet = await loadPretrained(path.join(dir, "unet"), UNetConfigSchema, (c, init) => new UNet2DConditionModel(c, init), { variant });
    return loaded as StableDiffusionNetworks;
  } catch (error) {
    for (const network of Object.values(loaded)) network.params.dispose();
    throw error;
  }
}
