import "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClipTextModel } from "../model/clip-text.js";
import { ClipTextConfigSchema } from "../model/config.js";
import { createLora, LORA_TARGETS, type LoraSet } from "../model/lora.js";
import { SafetensorsReader, writeSafetensors } from "../model/safetensors.js";
import { diffusersLoraFile, kohyaLoraFile, kohyaModuleName, readLoraFile, type LoraFile } from "./lora-files.js";

const config = ClipTextConfigSchema.parse({
  vocab_size: 100,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 8,
  eos_token_id: 2,
});
const directory = mkdtempSync(join(tmpdir(), "lora-files-"));
beforeAll(async () => {
  await tf.setBackend("cpu");
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A text encoder with a trained-looking LoRA (non-zero `up`, alpha ≠ rank). */
function trainedTextEncoder(): { model: ClipTextModel; lora: LoraSet } {
  const model = new ClipTextModel(config, { kind: "random", seed: 7 });
  const lora = createLora(model.params, { rank: 2, alpha: 3, targets: [LORA_TARGETS.textAttention, /\.mlp\.fc1$/], seed: 1 });
  let seed = 10;
  for (const adapter of lora.adapters.values()) adapter.up.assign(tf.randomNormal(adapter.up.shape, 0, 0.5, "float32", seed++));
  model.params.lora = lora;
  return { model, lora };
}

const ids = () => tf.tensor2d([[0, 5, 9, 2, 1, 1, 1, 1]], [1, 8], "int32");

async function roundTrip(file: LoraFile, name: string, original: ClipTextModel) {
  const path = join(directory, name);
  await writeSafetensors(path, file.tensors, file.metadata);
  const fresh = new ClipTextModel(config, { kind: "random", seed: 7 });
  const sets = await readLoraFile(path, { text_encoder: fresh.params });
  fresh.params.lora = sets.text_encoder;
  const expected = await original.forward(ids()).lastHiddenState.data();
  const actual = await fresh.forward(ids()).lastHiddenState.data();
  return { path, expected, actual, fresh };
}

describe("LoRA files", () => {
  it("diffusers format loads back into the model with identical outputs", async () => {
    const { model, lora } = trainedTextEncoder();
    const { path, expected, actual } = await roundTrip(diffusersLoraFile({ text_encoder: { store: model.params, lora } }), "diffusers.safetensors", model);
    expect(actual).toEqual(expected);
    const reader = await SafetensorsReader.open(path);
    const q = "text_encoder.text_model.encoder.layers.0.self_attn.q_proj";
    expect(reader.tensors.get(`${q}.lora_A.weight`)?.shape).toEqual([2, 16]);
    expect(reader.tensors.get(`${q}.lora_B.weight`)?.shape).toEqual([16, 2]);
    expect(JSON.parse(reader.metadata.lora_adapter_metadata)).toMatchObject({ "text_encoder.r": 2, "text_encoder.lora_alpha": 3 });
    await reader.close();
  });

  it("kohya format loads back with identical outputs and follows the kohya naming rules", async () => {
    const { model, lora } = trainedTextEncoder();
    const { path, expected, actual } = await roundTrip(kohyaLoraFile({ text_encoder: { store: model.params, lora } }), "kohya.safetensors", model);
    expect(actual).toEqual(expected);
    const reader = await SafetensorsReader.open(path);
    const q = "lora_te_text_model_encoder_layers_0_self_attn_q_proj";
    expect(reader.tensors.get(`${q}.lora_down.weight`)?.shape).toEqual([2, 16]);
    expect(reader.tensors.get(`${q}.lora_up.weight`)?.shape).toEqual([16, 2]);
    expect(reader.tensors.get(`${q}.alpha`)?.shape).toEqual([]);
    expect((await reader.read(`${q}.alpha`)).data[0]).toBe(3);
    expect(reader.names.every((name) => /^lora_te_text_model_encoder_layers_\d+_(self_attn_(q|k|v|out)_proj|mlp_fc1)\.(lora_down\.weight|lora_up\.weight|alpha)$/.test(name))).toBe(true);
    await reader.close();
  });

  it("the LoRA changes the output, and the scale dials it", async () => {
    const { model, lora } = trainedTextEncoder();
    const withLora = await model.forward(ids()).lastHiddenState.data();
    lora.scale = 0;
    const without = await model.forward(ids()).lastHiddenState.data();
    expect(withLora).not.toEqual(without);
  });

  it("names UNet modules the way ComfyUI maps diffusers keys", () => {
    expect(kohyaModuleName("unet", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q")).toBe(
      "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
    );
    expect(kohyaModuleName("unet", "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0")).toBe(
      "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_out_0",
    );
  });

  it("rejects a file whose modules are not in the model", async () => {
    const path = join(directory, "alien.safetensors");
    await writeSafetensors(path, [["lora_unet_nowhere.lora_down.weight", { dtype: "F32", shape: [1, 1], data: new Float32Array(1) }]]);
    await expect(readLoraFile(path, { unet: new ClipTextModel(config).params })).rejects.toThrow(/names no module/);
  });
});
