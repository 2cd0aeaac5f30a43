/**
 * LoRA adapters to and from the two file formats people load them with.
 *
 * - diffusers (`pytorch_lora_weights.safetensors`), the PEFT layout that current
 *   `load_lora_weights` reads: `unet.<module>.lora_A.weight` [r, in] and
 *   `lora_B.weight` [out, r], `text_encoder.<module>…` likewise; rank and alpha
 *   travel in the `lora_adapter_metadata` JSON of the safetensors header, keyed
 *   `unet.r`, `unet.lora_alpha`, … as diffusers' `_pack_dict_with_prefix` writes.
 *   diffusers before 0.34 ignores that metadata and loads every adapter at
 *   α = r, so α/r is folded into `lora_B` and the file says α = r: every
 *   version then applies the strength the adapter was trained at.
 * - kohya (A1111, ComfyUI): `lora_unet_<module with . → _>` and
 *   `lora_te_<module with . → _>` with `.lora_down.weight` [r, in],
 *   `.lora_up.weight` [out, r] and a scalar `.alpha`; scale is alpha / r. The
 *   header carries the `ss_network_*` and `ss_base_model_version` fields that
 *   kohya's sd-scripts write and the tools display.
 *
 * 1×1-convolution targets get 4-D weights [r, in, 1, 1] / [out, r, 1, 1], as
 * PyTorch's Conv2d LoRA layers store them. Our adapters are `down` [in, r] and
 * `up` [r, out] (see model/lora.ts), so both formats are transposes of them.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LoraAdapter, LoraSet } from "../model/lora.js";
import type { ParamStore } from "../model/params.js";
import { SafetensorsReader, type TensorToWrite } from "../model/safetensors.js";

export type LoraComponent = "unet" | "text_encoder";

/** A network's parameter store with the LoRA set trained on it. */
export interface LoraTarget {
  store: ParamStore;
  lora: LoraSet;
}

export type LoraTargets = Partial<Record<LoraComponent, LoraTarget>>;

export interface LoraFile {
  tensors: [string, TensorToWrite][];
  metadata: Record<string, string>;
}

const KOHYA_PREFIX: Record<LoraComponent, string> = { unet: "lora_unet_", text_encoder: "lora_te_" };

export function kohyaModuleName(component: LoraComponent, modulePath: string): string {
  return KOHYA_PREFIX[component] + modulePath.replaceAll(".", "_");
}

function isConvolution(store: ParamStore, modulePath: string): boolean {
  return store.params.get(`${modulePath}.weight`)?.layout === "conv";
}

/** `lora_A`/`lora_down` and `lora_B`/`lora_up` as PyTorch stores them, `up` multiplied by `upFactor`. */
function torchMatrices(store: ParamStore, modulePath: string, adapter: LoraAdapter, upFactor = 1): [TensorToWrite, TensorToWrite] {
  const [inFeatures, rank] = adapter.down.shape;
  const outFeatures = adapter.up.shape[1] as number;
  const convTail = isConvolution(store, modulePath) ? [1, 1] : [];
  const transposed = (variable: tf.Variable, factor: number) => async () => {
    const matrix = tf.tidy(() => tf.mul(tf.transpose(variable), factor));
    const values = (await matrix.data()) as Float32Array;
    matrix.dispose();
    return values;
  };
  return [
    { dtype: "F32", shape: [rank, inFeatures, ...convTail], data: transposed(adapter.down, 1) },
    { dtype: "F32", shape: [outFeatures, rank, ...convTail], data: transposed(adapter.up, upFactor) },
  ];
}

function onlyRankAndAlpha(lora: LoraSet): { rank: number; alpha: number } {
  const first = lora.adapters.values().next().value as LoraAdapter;
  return { rank: first.rank, alpha: first.alpha };
}

export function diffusersLoraFile(targets: LoraTargets): LoraFile {
  const tensors: [string, TensorToWrite][] = [];
  const adapterMetadata: Record<string, unknown> = {};
  for (const [component, target] of Object.entries(targets) as [LoraComponent, LoraTarget][]) {
    for (const [modulePath, adapter] of target.lora.adapters) {
      const [loraA, loraB] = torchMatrices(target.store, modulePath, adapter, adapter.alpha / adapter.rank);
      tensors.push([`${component}.${modulePath}.lora_A.weight`, loraA], [`${component}.${modulePath}.lora_B.weight`, loraB]);
    }
    const { rank } = onlyRankAndAlpha(target.lora);
    adapterMetadata[`${component}.r`] = rank;
    // α/r is already in lora_B.
    adapterMetadata[`${component}.lora_alpha`] = rank;
    adapterMetadata[`${component}.target_modules`] = [...target.lora.adapters.keys()];
    adapterMetadata[`${component}.init_lora_weights`] = true;
  }
  return { tensors, metadata: { format: "pt", lora_adapter_metadata: JSON.stringify(adapterMetadata) } };
}

/**
 * kohya's name for the base model family, as sd-scripts' `get_model_version_str_for_sd1_sd2`
 * writes it: our networks are SD 1.x, with `_v` for v-prediction.
 */
export function kohyaBaseModelVersion(predictionType: "epsilon" | "v_prediction"): string {
  return predictionType === "v_prediction" ? "sd_v1_v" : "sd_v1";
}

/** Python's `str(float)`, which sd-scripts uses for `ss_network_alpha`: 8 → "8.0". */
const pythonFloat = (value: number) => (Number.isInteger(value) ? value.toFixed(1) : String(value));

export function kohyaLoraFile(targets: LoraTargets, baseModelVersion: string): LoraFile {
  const tensors: [string, TensorToWrite][] = [];
  let rankAndAlpha: { rank: number; alpha: number } | undefined;
  for (const [component, target] of Object.entries(targets) as [LoraComponent, LoraTarget][]) {
    for (const [modulePath, adapter] of target.lora.adapters) {
      const name = kohyaModuleName(component, modulePath);
      const [down, up] = torchMatrices(target.store, modulePath, adapter);
      tensors.push(
        [`${name}.alpha`, { dtype: "F32", shape: [], data: new Float32Array([adapter.alpha]) }],
        [`${name}.lora_down.weight`, down],
        [`${name}.lora_up.weight`, up],
      );
    }
    rankAndAlpha ??= onlyRankAndAlpha(target.lora);
  }
  const metadata: Record<string, string> = { ss_network_module: "networks.lora", ss_base_model_version: baseModelVersion };
  if (rankAndAlpha) {
    metadata.ss_network_dim = String(rankAndAlpha.rank);
    metadata.ss_network_alpha = pythonFloat(rankAndAlpha.alpha);
  }
  return { tensors, metadata };
}

interface ParsedAdapter {
  component: LoraComponent;
  modulePath: string;
  down?: string;
  up?: string;
  alphaTensor?: string;
}

/** Maps each tensor name of a diffusers or kohya LoRA file to (component, module, role). */
function parseNames(names: string[], stores: Partial<Record<LoraComponent, ParamStore>>): Map<string, ParsedAdapter> {
  const kohyaToPath = new Map<string, { component: LoraComponent; modulePath: string }>();
  for (const [component, store] of Object.entries(stores) as [LoraComponent, ParamStore][]) {
    for (const modulePath of store.projections.keys()) kohyaToPath.set(kohyaModuleName(component, modulePath), { component, modulePath });
  }
  const adapters = new Map<string, ParsedAdapter>();
  const entry = (component: LoraComponent, modulePath: string) => {
    const key = `${component}:${modulePath}`;
    if (!adapters.has(key)) adapters.set(key, { component, modulePath });
    return adapters.get(key)!;
  };
  for (const name of names) {
    const diffusers = /^(unet|text_encoder)\.(.+)\.(lora_A|lora_B)\.weight$/.exec(name);
    if (diffusers) {
      const adapter = entry(diffusers[1] as LoraComponent, diffusers[2]);
      adapter[diffusers[3] === "lora_A" ? "down" : "up"] = name;
      continue;
    }
    const kohya = /^(lora_(?:unet|te)_.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(name);
    const location = kohya && kohyaToPath.get(kohya[1]);
    if (!kohya || !location) throw new Error(`LoRA tensor "${name}" names no module of this model`);
    const adapter = entry(location.component, location.modulePath);
    if (kohya[2] === "alpha") adapter.alphaTensor = name;
    else adapter[kohya[2] === "lora_down.weight" ? "down" : "up"] = name;
  }
  return adapters;
}

/**
 * Reads a diffusers or kohya LoRA file into LoRA sets for the given networks,
 * checking that every adapter names a projection of the right shape.
 */
export async function readLoraFile(
  path: string,
  stores: Partial<Record<LoraComponent, ParamStore>>,
  scale = 1,
): Promise<Partial<Record<LoraComponent, LoraSet>>> {
  const reader = await SafetensorsReader.open(path);
  try {
    const adapterMetadata = reader.metadata.lora_adapter_metadata
      ? (JSON.parse(reader.metadata.lora_adapter_metadata) as Record<string, number>)
      : {};
    const sets: Partial<Record<LoraComponent, LoraSet>> = {};
    for (const parsed of parseNames(reader.names, stores).values()) {
      const { component, modulePath } = parsed;
      const projection = stores[component]?.projections.get(modulePath);
      if (!projection) throw new Error(`LoRA module ${component}.${modulePath} is not a projection of this model`);
      if (!parsed.down || !parsed.up) throw new Error(`LoRA module ${component}.${modulePath} lacks its down or up weight`);
      const down = await reader.read(parsed.down);
      const up = await reader.read(parsed.up);
      const rank = down.shape[0];
      if (down.shape[1] !== projection.inFeatures || up.shape[0] !== projection.outFeatures || up.shape[1] !== rank) {
        throw new Error(`LoRA module ${component}.${modulePath} has shapes ${down.shape}/${up.shape} that do not fit`);
      }
      const alpha = parsed.alphaTensor
        ? (await reader.read(parsed.alphaTensor)).data[0]
        : (adapterMetadata[`${component}.lora_alpha`] ?? rank);
      const set = (sets[component] ??= { adapters: new Map(), scale });
      set.adapters.set(modulePath, {
        down: tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(down.data, [rank, projection.inFeatures])), false)),
        up: tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(up.data, [projection.outFeatures, rank])), false)),
        rank,
        alpha,
      });
    }
    return sets;
  } finally {
    await reader.close();
  }
}
