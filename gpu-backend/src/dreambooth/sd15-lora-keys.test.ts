/**
 * An SD1.5 LoRA export names every module the trainer adapts, under the names A1111, ComfyUI and diffusers
 * look up. The networks are built from SD1.5's own configs without weights (`shapes`), so this runs in
 * milliseconds; only the (small) adapters are real tensors.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ClipTextModel } from "../model/clip-text.js";
import { useBackend } from "../model/parity-fixtures.js";
import { sd15ClipTextConfig, sd15UNetConfig } from "../model/sd15-configs.js";
import { UNet2DConditionModel } from "../model/unet.js";
import { diffusersLoraFile, kohyaLoraFile } from "./lora-files.js";
import { attachTrainableWeights } from "./trainable.js";

const rank = 4;
let unet: UNet2DConditionModel;
let textEncoder: ClipTextModel;
let unetModules: string[];
let textModules: string[];

/** Module paths of the network's declared weights matching `pattern` (the network's own module list). */
function modulesOf(declared: Map<string, unknown>, pattern: RegExp): string[] {
  return [...declared.keys()].filter((name) => pattern.test(name)).map((name) => name.replace(/\.weight$/, ""));
}

beforeAll(async () => {
  await useBackend("cpu");
  unet = new UNet2DConditionModel(sd15UNetConfig, { kind: "shapes" });
  textEncoder = new ClipTextModel(sd15ClipTextConfig, { kind: "shapes" });
  unetModules = modulesOf(unet.params.declared, /\.attn[12]\.(to_q|to_k|to_v|to_out\.0)\.weight$/);
  textModules = modulesOf(textEncoder.params.declared, /\.self_attn\.(q_proj|k_proj|v_proj|out_proj)\.weight$/);
});

function exportNames(trainTextEncoder: boolean) {
  const trainable = attachTrainableWeights({ unet, textEncoder }, { method: "lora", lora_rank: rank, lora_alpha: rank, train_text_encoder: trainTextEncoder, seed: 1 });
  try {
    return {
      diffusers: diffusersLoraFile(trainable.lora!),
      kohya: kohyaLoraFile(trainable.lora!, "sd_v1"),
    };
  } finally {
    trainable.release();
  }
}

describe("SD1.5 LoRA exports cover every module the trainer targets", () => {
  // Every attention projection of SD1.5: 16 transformer blocks (6 down, 1 mid, 9 up) × attn1/attn2 × q/k/v/out,
  // and 12 CLIP layers × q/k/v/out.
  it("the module lists have SD1.5's sizes", () => {
    expect(unetModules).toHaveLength(16 * 2 * 4);
    expect(textModules).toHaveLength(12 * 4);
  });

  it("kohya: lora_down, lora_up and alpha for every UNet and text-encoder attention projection, A1111 names", () => {
    const { kohya } = exportNames(true);
    const names = new Set(kohya.tensors.map(([name]) => name));
    const expected = [
      ...unetModules.map((module) => `lora_unet_${module.replaceAll(".", "_")}`),
      ...textModules.map((module) => `lora_te_${module.replaceAll(".", "_")}`),
    ].flatMap((module) => [`${module}.lora_down.weight`, `${module}.lora_up.weight`, `${module}.alpha`]);
    expect([...names].sort()).toEqual(expected.sort());
    // Names as published SD1.5 LoRAs (and A1111's / ComfyUI's key maps) spell them.
    expect(names).toContain("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight");
    expect(names).toContain("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight");
    expect(names).toContain("lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_out_0.alpha");
    expect(names).toContain("lora_te_text_model_encoder_layers_11_self_attn_out_proj.lora_down.weight");
  });

  it("kohya shapes are PyTorch's: cross-attention keys read the 768-wide text states", () => {
    const { kohya } = exportNames(false);
    const shapes = new Map(kohya.tensors.map(([name, tensor]) => [name, tensor.shape]));
    expect(shapes.get("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight")).toEqual([rank, 768]);
    expect(shapes.get("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight")).toEqual([320, rank]);
    expect(shapes.get("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight")).toEqual([rank, 1280]);
    expect(shapes.get("lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn1_to_out_0.alpha")).toEqual([]);
  });

  it("diffusers: lora_A and lora_B under unet. and text_encoder. for every module, listed in the adapter metadata", () => {
    const { diffusers } = exportNames(true);
    const expected = [...unetModules.map((module) => `unet.${module}`), ...textModules.map((module) => `text_encoder.${module}`)].flatMap(
      (module) => [`${module}.lora_A.weight`, `${module}.lora_B.weight`],
    );
    expect(diffusers.tensors.map(([name]) => name).sort()).toEqual(expected.sort());
    const metadata = JSON.parse(diffusers.metadata.lora_adapter_metadata) as Record<string, unknown>;
    expect([...(metadata["unet.target_modules"] as string[])].sort()).toEqual([...unetModules].sort());
    expect([...(metadata["text_encoder.target_modules"] as string[])].sort()).toEqual([...textModules].sort());
  });

  it("without text-encoder training the export holds the UNet only", () => {
    const { diffusers, kohya } = exportNames(false);
    expect(diffusers.tensors).toHaveLength(unetModules.length * 2);
    expect(kohya.tensors.every(([name]) => name.startsWith("lora_unet_"))).toBe(true);
  });
});
