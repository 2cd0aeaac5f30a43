/**
 * Writes the pretrained networks as a diffusers Stable Diffusion folder (model_index.json, unet/, vae/,
 * text_encoder/, tokenizer/, scheduler/) that `loadStableDiffusion` and diffusers itself read, plus
 * `training.json` with the facts the model card quotes (steps, seed, loss curve). Written to a scratch
 * folder and swapped in, so a reader never sees half a model; the judge and the card already there stay.
 * Weights are stored as F16 (they load as float32): half the bytes for a committed model, and a
 * rounding far below what the networks' training noise already is.
 */
import { access, cp, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ClipVocabularyFiles } from "../src/emoji/bpe-vocab.js";
import { MAX_CAPTION_TOKENS } from "../src/emoji/model-config.js";
import type { ClipTextModel } from "../src/model/clip-text.js";
import { SD15_SCHEDULER_CONFIG } from "../src/model/schedulers/index.js";
import { clipTextConfigFile, clipTokenizerConfigFile } from "../src/model/transformers-files.js";
import type { UNet2DConditionModel } from "../src/model/unet.js";
import type { AutoencoderKL } from "../src/model/vae.js";
import { saveWeights } from "../src/model/weights.js";

export interface PretrainedNetworks {
  vae: AutoencoderKL;
  unet: UNet2DConditionModel;
  textEncoder: ClipTextModel;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function exportModel(out: string, networks: PretrainedNetworks, vocabulary: ClipVocabularyFiles, facts: object): Promise<void> {
  const scratch = `${out}.partial`;
  await rm(scratch, { recursive: true, force: true });
  const { vae, unet, textEncoder } = networks;
  await writeJson(path.join(scratch, "unet", "config.json"), { _class_name: "UNet2DConditionModel", ...unet.config });
  await saveWeights(unet.params, path.join(scratch, "unet", "diffusion_pytorch_model.safetensors"), { dtype: "F16" });
  await writeJson(path.join(scratch, "vae", "config.json"), { _class_name: "AutoencoderKL", ...vae.config });
  await saveWeights(vae.params, path.join(scratch, "vae", "diffusion_pytorch_model.safetensors"), { dtype: "F16" });
  await writeJson(path.join(scratch, "text_encoder", "config.json"), clipTextConfigFile(textEncoder.config));
  await saveWeights(textEncoder.params, path.join(scratch, "text_encoder", "model.safetensors"), { dtype: "F16" });
  await writeJson(path.join(scratch, "scheduler", "scheduler_config.json"), { _class_name: "DDIMScheduler", ...SD15_SCHEDULER_CONFIG });
  const special = { bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", pad_token: "<|endoftext|>", unk_token: "<|endoftext|>" };
  await writeJson(path.join(scratch, "tokenizer", "vocab.json"), vocabulary.vocab);
  await writeFile(path.join(scratch, "tokenizer", "merges.txt"), vocabulary.merges);
  await writeJson(path.join(scratch, "tokenizer", "special_tokens_map.json"), special);
  await writeJson(
    path.join(scratch, "tokenizer", "tokenizer_config.json"),
    clipTokenizerConfigFile({ model_max_length: MAX_CAPTION_TOKENS, do_lower_case: true, ...special }),
  );
  await writeJson(path.join(scratch, "model_index.json"), {
    _class_name: "StableDiffusionPipeline",
    scheduler: ["diffusers", "DDIMScheduler"],
    text_encoder: ["transformers", "CLIPTextModel"],
    tokenizer: ["transformers", "CLIPTokenizer"],
    unet: ["diffusers", "UNet2DConditionModel"],
    vae: ["diffusers", "AutoencoderKL"],
  });
  await writeJson(path.join(scratch, "training.json"), facts);
  // The judge and the model card are made by other steps; they survive a re-export.
  for (const kept of ["judge", "README.md", "LICENSE", "NOTICE"]) {
    const source = path.join(out, kept);
    if (await access(source).then(() => true, () => false)) await cp(source, path.join(scratch, kept), { recursive: true });
  }
  await rm(out, { recursive: true, force: true });
  await rename(scratch, out);
}
