/**
 * What a finished training leaves behind. LoRA runs produce the diffusers file
 * (`pytorch_lora_weights.safetensors`, for `load_lora_weights`) and the kohya
 * file (for A1111 / ComfyUI); full fine-tunes produce a complete diffusers
 * folder, loadable with `from_pretrained`: the base model's pipeline components
 * with the trained UNet (and text encoder) weights in place, its licence files,
 * the transformers configs completed (transformers-files.ts) and the trained
 * model's own card. The base model's card, judge and benchmark are not copied:
 * they describe the base model.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ArtifactName } from "../../../shared/job.js";
import { writeSafetensors } from "../model/safetensors.js";
import { clipTextConfigFile, clipTokenizerConfigFile } from "../model/transformers-files.js";
import { saveWeights } from "../model/weights.js";
import type { Artifact } from "../jobs/context.js";
import type { BaseModel } from "./base-model.js";
import { diffusersLoraFile, kohyaBaseModelVersion, kohyaLoraFile, type LoraFile, type LoraTargets } from "./lora-files.js";

export const DIFFUSERS_LORA_NAME = "artifacts/pytorch_lora_weights.safetensors";
export const KOHYA_LORA_NAME = "artifacts/lora_kohya.safetensors";
export const DIFFUSERS_FOLDER_PREFIX = "artifacts/diffusers";

async function fileArtifact(file: string, name: ArtifactName, format: Artifact["format"], meta?: Artifact["meta"]): Promise<Artifact> {
  const bytes = new Uint8Array(await readFile(file));
  return { name, bytes, contentType: "application/octet-stream", format, meta };
}

async function writeLoraFile(file: string, lora: LoraFile): Promise<void> {
  await writeSafetensors(file, lora.tensors, lora.metadata);
}

export async function loraExports(model: BaseModel, lora: LoraTargets, workDir: string, meta: Artifact["meta"]): Promise<Artifact[]> {
  const diffusersFile = path.join(workDir, "pytorch_lora_weights.safetensors");
  const kohyaFile = path.join(workDir, "lora_kohya.safetensors");
  await writeLoraFile(diffusersFile, diffusersLoraFile(lora));
  await writeLoraFile(kohyaFile, kohyaLoraFile(lora, kohyaBaseModelVersion(model.schedule.predictionType)));
  return [
    await fileArtifact(diffusersFile, DIFFUSERS_LORA_NAME, "diffusers-lora", meta),
    await fileArtifact(kohyaFile, KOHYA_LORA_NAME, "kohya-lora", meta),
  ];
}

async function listFiles(root: string, relative = ""): Promise<string[]> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(root, child) : Promise.resolve(entry.isFile() ? [child] : []);
    }),
  );
  return nested.flat().sort();
}

/**
 * The base folder's files that belong to the trained model too: `model_index.json`, the folders of the
 * pipeline components it names, and the licence files at the top.
 */
export function inheritedFiles(relativePaths: string[], modelIndex: Record<string, unknown>): string[] {
  const components = Object.entries(modelIndex)
    .filter(([key, value]) => !key.startsWith("_") && Array.isArray(value))
    .map(([key]) => `${key}/`);
  return relativePaths.filter(
    (relative) =>
      relative === "model_index.json" ||
      components.some((component) => relative.startsWith(component)) ||
      /^(LICEN[CS]E|NOTICE|COPYING)[^/]*$/i.test(relative),
  );
}

/** Config files whose transformers fields are completed on the way out. */
const COMPLETED_CONFIGS: Record<string, (config: Record<string, unknown>) => Record<string, unknown>> = {
  "text_encoder/config.json": clipTextConfigFile,
  "tokenizer/tokenizer_config.json": clipTokenizerConfigFile,
};

const jsonBytes = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

/** The trained model's diffusers folder: see the module comment for what is in it. */
export async function fullFineTuneExports(
  model: BaseModel,
  trainedTextEncoder: boolean,
  workDir: string,
  meta: Artifact["meta"],
  card: string,
): Promise<Artifact[]> {
  const trained = new Map<string, string>();
  const unetFile = path.join(workDir, "unet.safetensors");
  await saveWeights(model.unet.params, unetFile);
  trained.set("unet/diffusion_pytorch_model.safetensors", unetFile);
  if (trainedTextEncoder) {
    const textEncoderFile = path.join(workDir, "text_encoder.safetensors");
    await saveWeights(model.textEncoder.params, textEncoderFile);
    trained.set("text_encoder/model.safetensors", textEncoderFile);
  }
  const trainedComponents = trainedTextEncoder ? ["unet/", "text_encoder/"] : ["unet/"];
  // The base weights of a trained network (single file, shards or their index) give way to the trained ones.
  const isReplacedWeights = (relative: string) =>
    trainedComponents.some((component) => relative.startsWith(component)) && /\.(safetensors|bin|ckpt|index\.json)$/.test(relative);
  const modelIndex = JSON.parse(await readFile(path.join(model.directory, "model_index.json"), "utf8")) as Record<string, unknown>;
  const artifacts: Artifact[] = [];
  const add = (relative: string, bytes: Uint8Array) =>
    artifacts.push({
      name: `${DIFFUSERS_FOLDER_PREFIX}/${relative}` as ArtifactName,
      bytes,
      contentType: "application/octet-stream",
      format: "diffusers",
      meta: { ...meta, path: relative },
    });
  for (const relative of inheritedFiles(await listFiles(model.directory), modelIndex)) {
    if (isReplacedWeights(relative)) continue;
    const bytes = new Uint8Array(await readFile(path.join(model.directory, relative)));
    const complete = COMPLETED_CONFIGS[relative];
    if (complete) add(relative, jsonBytes(complete(JSON.parse(new TextDecoder().decode(bytes)))));
    else add(relative, bytes);
  }
  for (const [relative, file] of trained) add(relative, new Uint8Array(await readFile(file)));
  add("README.md", new TextEncoder().encode(card));
  return artifacts.sort((a, b) => a.name.localeCompare(b.name));
}
