/**
 * What a finished training leaves behind. LoRA runs produce the diffusers file
 * (`pytorch_lora_weights.safetensors`, for `load_lora_weights`) and the kohya
 * file (for A1111 / ComfyUI); full fine-tunes produce a complete diffusers
 * folder: the base model's files with the trained UNet (and text encoder)
 * weights in place, loadable with `from_pretrained`.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ArtifactName } from "../../../shared/job.js";
import { writeSafetensors } from "../model/safetensors.js";
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

/** The base model's folder with the trained networks' weights written over theirs. */
export async function fullFineTuneExports(
  model: BaseModel,
  trainedTextEncoder: boolean,
  workDir: string,
  meta: Artifact["meta"],
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
  const files: [string, string][] = (await listFiles(model.directory))
    .filter((relative) => !isReplacedWeights(relative))
    .map((relative) => [relative, path.join(model.directory, relative)]);
  files.push(...trained);
  const artifacts: Artifact[] = [];
  for (const [relative, source] of files) {
    const name = `${DIFFUSERS_FOLDER_PREFIX}/${relative}` as ArtifactName;
    artifacts.push(await fileArtifact(source, name, "diffusers", { ...meta, path: relative }));
  }
  return artifacts;
}
