/**
 * A Stable Diffusion 1.5 folder with SD1.5's exact configs and seeded RANDOM weights, in the diffusers
 * layout the service loads (float32 files, plus the `fp16` variant diffusers publishes), so the full-size
 * path can run end to end without downloading anything. The UNet's float32 file is 3.4 GB — past the
 * 2 GiB a single Node read can return — which is the point. The tokenizer is the byte-level stand-in of
 * the tiny-random model with CLIP's special-token ids (49406/49407); it renders noise and says so.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { ClipTextModel } from "../../src/model/clip-text.js";
import { SD15_SCHEDULER_CONFIG } from "../../src/model/schedulers/config.js";
import { SD15_CONFIG_FILES, sd15ClipTextConfig, sd15UNetConfig, sd15VaeConfig } from "../../src/model/sd15-configs.js";
import { tinyTokenizerFiles } from "../../src/model/tiny-random-model.js";
import { UNet2DConditionModel } from "../../src/model/unet.js";
import { AutoencoderKL } from "../../src/model/vae.js";
import { saveWeights } from "../../src/model/weights.js";
import type { ParamStore } from "../../src/model/params.js";

const LABEL = "RANDOM WEIGHTS with Stable Diffusion 1.5's configs: written by npm run smoke:sd15, renders noise";

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** One network at a time (SD1.5's UNet alone is 3.4 GB of float32): built, written twice, freed. */
async function writeNetwork(directory: string, weightsStem: string, build: () => { params: ParamStore }): Promise<void> {
  const network = build();
  try {
    await saveWeights(network.params, path.join(directory, `${weightsStem}.safetensors`));
    await saveWeights(network.params, path.join(directory, `${weightsStem}.fp16.safetensors`), { dtype: "F16" });
  } finally {
    network.params.dispose();
  }
}

export async function writeRandomSd15(directory: string): Promise<void> {
  await writeJson(path.join(directory, "unet", "config.json"), SD15_CONFIG_FILES.unet);
  await writeJson(path.join(directory, "vae", "config.json"), SD15_CONFIG_FILES.vae);
  await writeJson(path.join(directory, "text_encoder", "config.json"), SD15_CONFIG_FILES.text_encoder);
  await writeJson(path.join(directory, "scheduler", "scheduler_config.json"), { _class_name: "PNDMScheduler", ...SD15_SCHEDULER_CONFIG });
  for (const [name, content] of Object.entries(tinyTokenizerFiles(49406, 49407))) {
    await mkdir(path.join(directory, "tokenizer"), { recursive: true });
    await writeFile(path.join(directory, "tokenizer", name), content);
  }
  await writeNetwork(path.join(directory, "text_encoder"), "model", () => new ClipTextModel(sd15ClipTextConfig, { kind: "random", seed: 3 }));
  await writeNetwork(path.join(directory, "vae"), "diffusion_pytorch_model", () => new AutoencoderKL(sd15VaeConfig, { kind: "random", seed: 2 }));
  await writeNetwork(path.join(directory, "unet"), "diffusion_pytorch_model", () => new UNet2DConditionModel(sd15UNetConfig, { kind: "random", seed: 1 }));
  await writeJson(path.join(directory, "model_index.json"), {
    _class_name: "StableDiffusionPipeline",
    _note: LABEL,
    scheduler: ["diffusers", "PNDMScheduler"],
    text_encoder: ["transformers", "CLIPTextModel"],
    tokenizer: ["transformers", "CLIPTokenizer"],
    unet: ["diffusers", "UNet2DConditionModel"],
    vae: ["diffusers", "AutoencoderKL"],
  });
}
