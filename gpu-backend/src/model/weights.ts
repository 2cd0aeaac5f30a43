/**
 * Moving weights between diffusers/transformers checkpoints and our networks. A network's ParamStore
 * already uses the checkpoint's tensor names, so loading is: rename legacy names, check the shape
 * against what the module declared (in PyTorch layout), transpose conv OIHW→HWIO and linear
 * [out,in]→[in,out], assign. Anything the checkpoint lacks or has extra is reported by name, and a
 * shape mismatch stops the load: a silently reshaped tensor would compute garbage. Saving is the
 * inverse, one tensor at a time, giving a file diffusers' `from_pretrained` accepts.
 */
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type { z } from "zod";
import { readConfig } from "./config.js";
import type { ParamInit, ParamLayout, ParamStore } from "./params.js";
import { SafetensorsReader, writeSafetensors, type TensorToWrite } from "./safetensors.js";

export interface LoadReport {
  loaded: number;
  /** Our parameters no checkpoint tensor provided (they keep their initial values). */
  missing: string[];
  /** Checkpoint tensors no parameter asked for. */
  unexpected: string[];
}

/** Old AutoencoderKL checkpoints (SD1.x's own VAE among them) name the mid-block attention differently. */
const LEGACY_NAMES: [RegExp, string][] = [
  [/\.query\.(weight|bias)$/, ".to_q.$1"],
  [/\.key\.(weight|bias)$/, ".to_k.$1"],
  [/\.value\.(weight|bias)$/, ".to_v.$1"],
  [/\.proj_attn\.(weight|bias)$/, ".to_out.0.$1"],
];

/** Buffers, not parameters, that some transformers versions store; their content is implied. */
const IGNORED = [/^text_model\.embeddings\.position_ids$/];

export function canonicalName(name: string): string {
  return LEGACY_NAMES.reduce((renamed, [pattern, replacement]) => renamed.replace(pattern, replacement), name);
}

/** PyTorch shape of one of our parameters. */
export function torchShape(shape: number[], layout: ParamLayout): number[] {
  if (layout === "conv") return [shape[3], shape[2], shape[0], shape[1]];
  if (layout === "linear") return [shape[1], shape[0]];
  return shape;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((size, i) => size === b[i]);

/** Converts one checkpoint tensor (PyTorch layout) to ours, or says why it cannot. */
function toOurLayout(data: Float32Array, fileShape: number[], shape: number[], layout: ParamLayout): tf.Tensor | string {
  const expected = torchShape(shape, layout);
  if (sameShape(fileShape, expected)) {
    return tf.tidy(() => {
      const tensor = tf.tensor(data, fileShape, "float32");
      if (layout === "conv") return tensor.transpose([2, 3, 1, 0]);
      if (layout === "linear") return tensor.transpose([1, 0]);
      return tensor;
    });
  }
  // Converted SD checkpoints store the VAE attention projections as 1×1 convolutions [out, in, 1, 1].
  if (layout === "linear" && sameShape(fileShape, [...expected, 1, 1])) {
    return tf.tidy(() => tf.tensor(data, expected, "float32").transpose([1, 0]));
  }
  return `expected ${JSON.stringify(expected)}`;
}

/**
 * Loads safetensors files into a store. `strict` (default) throws when anything is missing or
 * unexpected; otherwise the report lists them. A shape mismatch always throws.
 */
export async function loadWeights(store: ParamStore, files: string[], { strict = true } = {}): Promise<LoadReport> {
  const pending = new Set(store.params.keys());
  const unexpected: string[] = [];
  let loaded = 0;
  for (const file of files) {
    const reader = await SafetensorsReader.open(file);
    try {
      for (const fileName of reader.names) {
        const name = canonicalName(fileName);
        const param = store.params.get(name);
        if (!param) {
          if (!IGNORED.some((pattern) => pattern.test(fileName))) unexpected.push(fileName);
          continue;
        }
        const host = await reader.read(fileName);
        if (host.dtype !== "float32") throw new Error(`${file}: tensor "${fileName}" is integer, a float parameter was expected`);
        const converted = toOurLayout(host.data, host.shape, param.variable.shape, param.layout);
        if (typeof converted === "string") {
          throw new Error(`${file}: tensor "${fileName}" has shape ${JSON.stringify(host.shape)}, ${converted} for "${name}"`);
        }
        param.variable.assign(converted);
        converted.dispose();
        pending.delete(name);
        loaded++;
      }
    } finally {
      await reader.close();
    }
  }
  const report = { loaded, missing: [...pending], unexpected };
  if (strict && (report.missing.length > 0 || report.unexpected.length > 0)) {
    throw new Error(
      `weights do not match the network: missing ${report.missing.length} [${report.missing.join(", ")}], ` +
        `unexpected ${report.unexpected.length} [${report.unexpected.join(", ")}] (files: ${files.join(", ")})`,
    );
  }
  return report;
}

/** Writes a store's parameters under their checkpoint names in PyTorch layout. */
export async function saveWeights(store: ParamStore, file: string, { dtype = "F32" }: { dtype?: "F32" | "F16" | "BF16" } = {}) {
  const tensors: [string, TensorToWrite][] = [...store.params].map(([name, { variable, layout }]) => [
    name,
    {
      dtype,
      shape: torchShape(variable.shape, layout),
      data: async () => {
        const torchLayout = tf.tidy(() =>
          layout === "conv" ? variable.transpose([3, 2, 0, 1]) : layout === "linear" ? variable.transpose([1, 0]) : variable.clone(),
        );
        const values = (await torchLayout.data()) as Float32Array;
        torchLayout.dispose();
        return values;
      },
    },
  ]);
  // transformers refuses safetensors files without format "pt" in the metadata.
  await writeSafetensors(file, tensors, { format: "pt" });
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/**
 * The weight files of a diffusers/transformers model folder: a single `diffusion_pytorch_model`/`model`
 * safetensors file, or the shards its `.safetensors.index.json` lists. `variant` picks e.g. "fp16" files.
 */
export async function weightFiles(dir: string, variant?: string): Promise<string[]> {
  const suffix = variant ? `.${variant}.safetensors` : ".safetensors";
  for (const stem of ["diffusion_pytorch_model", "model"]) {
    const single = path.join(dir, stem + suffix);
    if (await exists(single)) return [single];
    const index = path.join(dir, `${stem}${suffix}.index.json`);
    if (await exists(index)) {
      const { weight_map: weightMap } = JSON.parse(await readFile(index, "utf8")) as { weight_map: Record<string, string> };
      return [...new Set(Object.values(weightMap))].map((shard) => path.join(dir, shard));
    }
  }
  throw new Error(`${dir}: no ${suffix.slice(1)} weights (diffusion_pytorch_model${suffix} or model${suffix}, single or sharded)`);
}

/**
 * Builds a network from a model folder: config.json through its schema, parameters created as zeros
 * (no point drawing random values about to be overwritten), then every weight loaded strictly.
 */
export async function loadPretrained<S extends z.ZodTypeAny, N extends { params: ParamStore }>(
  dir: string,
  schema: S,
  build: (config: z.infer<S>, init: ParamInit) => N,
  { variant }: { variant?: string } = {},
): Promise<N> {
  const config = await readConfig(schema, path.join(dir, "config.json"));
  const network = build(config, { kind: "zeros" });
  try {
    await loadWeights(network.params, await weightFiles(dir, variant));
  } catch (error) {
    network.params.dispose();
    throw error;
  }
  return network;
}
