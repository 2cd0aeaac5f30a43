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
import {
  diffusersLoraFile,
  kohyaBaseModelVersion,
  kohyaLoraFile,
  kohyaModuleName,
  readLoraFile,
  type LoraFile,
} from "./lora-files.js";

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

/** The weight update ΔW [out, in] the trained adapter adds to its projection: (α/r)·upᵀ·downᵀ. */
function trainedDelta(lora: LoraSet, modulePath: string): Float32Array {
  const adapter = lora.adapters.get(modulePath)!;
  return tf.tidy(() => tf.mul(tf.transpose(tf.matMul(adapter.down, adapter.up)), adapter.alpha / adapter.rank).dataSync() as Float32Array);
}

/** ΔW = scale · lora_B·lora_A, computed from the file's tensors as a loader does. */
async function fileDelta(reader: SafetensorsReader, downName: string, upName: string, scale: number): Promise<Float32Array> {
  const down = await reader.read(downName);
  const up = await reader.read(upName);
  return tf.tidy(() =>
    tf.mul(tf.matMul(tf.tensor2d(up.data, up.shape as [number, number]), tf.tensor2d(down.data, down.shape as [number, number])), scale).dataSync() as Float32Array,
  );
}

function expectClose(actual: Float32Array | ArrayLike<number>, expected: Float32Array | ArrayLike<number>, tolerance = 1e-6) {
  expect(actual.length).toBe(expected.length);
  const worst = Array.from(actual).reduce((max, value, i) => Math.max(max, Math.abs(value - expected[i])), 0);
  expect(worst).toBeLessThan(tolerance);
}

describe("LoRA files", () => {
  it("diffusers format loads back into the model with the outputs it was trained to give", async () => {
    const { model, lora } = trainedTextEncoder();
    const { path, expected, actual } = await roundTrip(diffusersLoraFile({ text_encoder: { store: model.params, lora } }), "diffusers.safetensors", model);
    expectClose(actual, expected);
    const reader = await SafetensorsReader.open(path);
    const q = "text_encoder.text_model.encoder.layers.0.self_attn.q_proj";
    expect(reader.tensors.get(`${q}.lora_A.weight`)?.shape).toEqual([2, 16]);
    expect(reader.tensors.get(`${q}.lora_B.weight`)?.shape).toEqual([16, 2]);
    await reader.close();
  });

  it("diffusers format folds α/r into lora_B and says α = r, so loaders that ignore the metadata (diffusers < 0.34) get the trained strength", async () => {
    const { model, lora } = trainedTextEncoder();
    const file = diffusersLoraFile({ text_encoder: { store: model.params, lora } });
    const path = join(directory, "diffusers-folded.safetensors");
    await writeSafetensors(path, file.tensors, file.metadata);
    const reader = await SafetensorsReader.open(path);
    expect(JSON.parse(reader.metadata.lora_adapter_metadata)).toMatchObject({ "text_encoder.r": 2, "text_encoder.lora_alpha": 2 });
    for (const modulePath of lora.adapters.keys()) {
      const name = `text_encoder.${modulePath}`;
      // diffusers < 0.34 builds its PEFT config with lora_alpha = r: ΔW = lora_B·lora_A.
      expectClose(await fileDelta(reader, `${name}.lora_A.weight`, `${name}.lora_B.weight`, 1), trainedDelta(lora, modulePath));
    }
    await reader.close();
  });

  it("kohya format loads back with identical outputs and follows the kohya naming rules", async () => {
    const { model, lora } = trainedTextEncoder();
    const { path, expected, actual } = await roundTrip(kohyaLoraFile({ text_encoder: { store: model.params, lora } }, "sd_v1"), "kohya.safetensors", model);
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

  it("kohya format keeps the trained strength by ComfyUI's and A1111's rule, ΔW = (alpha / dim)·up·down", async () => {
    const { model, lora } = trainedTextEncoder();
    const file = kohyaLoraFile({ text_encoder: { store: model.params, lora } }, "sd_v1");
    const path = join(directory, "kohya-strength.safetensors");
    await writeSafetensors(path, file.tensors, file.metadata);
    const reader = await SafetensorsReader.open(path);
    for (const modulePath of lora.adapters.keys()) {
      const name = kohyaModuleName("text_encoder", modulePath);
      const alpha = (await reader.read(`${name}.alpha`)).data[0];
      const dim = reader.tensors.get(`${name}.lora_down.weight`)!.shape[0];
      expectClose(await fileDelta(reader, `${name}.lora_down.weight`, `${name}.lora_up.weight`, alpha / dim), trainedDelta(lora, modulePath));
    }
    await reader.close();
  });

  it("kohya header carries the sd-scripts fields the tools display: module, dim, alpha, base model version", async () => {
    const { model, lora } = trainedTextEncoder();
    const file = kohyaLoraFile({ text_encoder: { store: model.params, lora } }, kohyaBaseModelVersion("epsilon"));
    expect(file.metadata).toEqual({
      ss_network_module: "networks.lora",
      ss_network_dim: "2",
      ss_network_alpha: "3.0",
      ss_base_model_version: "sd_v1",
    });
    expect(kohyaBaseModelVersion("v_prediction")).toBe("sd_v1_v");
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
