import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClipTextModel } from "./clip-text.js";
import { parityDir, useBackend } from "./parity-fixtures.js";
import type { ParamStore } from "./params.js";
import { loadStableDiffusion } from "./stable-diffusion.js";
import { readSafetensors, SafetensorsReader, writeSafetensors, type TensorToWrite } from "./safetensors.js";
import { tinyUNetConfig, tinyVaeConfig } from "./tiny.js";
import { UNet2DConditionModel } from "./unet.js";
import { AutoencoderKL } from "./vae.js";
import { loadWeights, saveWeights, weightFiles } from "./weights.js";
import { ClipTextConfigSchema, readConfig, UNetConfigSchema, VaeConfigSchema } from "./config.js";

let dir: string;
beforeAll(async () => {
  await useBackend("wasm");
  dir = await mkdtemp(path.join(tmpdir(), "weights-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parityNetworks = [
  ["unet_sd15_4lvl", UNetConfigSchema, (c: never) => new UNet2DConditionModel(c, { kind: "zeros" })],
  ["vae_tiny_g8", VaeConfigSchema, (c: never) => new AutoencoderKL(c, { kind: "zeros" })],
  ["clip_text_tiny", ClipTextConfigSchema, (c: never) => new ClipTextModel(c, { kind: "zeros" })],
] as const;

/** Every variable's bytes, so equality is bitwise and fast to compare. */
async function values(store: ParamStore): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  for (const [name, { variable }] of store.params) result.set(name, Buffer.from(((await variable.data()) as Float32Array).buffer));
  return result;
}

const bytesOf = (data: Float32Array | Int32Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

describe("name mapping", () => {
  it.each(parityNetworks)("consumes every tensor of %s and leaves none over", async (network, schema, build) => {
    const folder = parityDir(network);
    const model = build((await readConfig(schema, path.join(folder, "config.json"))) as never);
    const files = await weightFiles(folder);
    const report = await loadWeights(model.params, files, { strict: false });
    const fileTensors = (await SafetensorsReader.open(files[0]).then(async (reader) => (await reader.close(), reader.names))).length;
    expect(report).toEqual({ loaded: fileTensors, missing: [], unexpected: [] });
    expect(report.loaded).toBe(model.params.params.size);
    model.params.dispose();
  });

  it("saves a loaded checkpoint back tensor-for-tensor identical (names, PyTorch shapes, values)", async () => {
    const folder = parityDir("vae_tiny_g8");
    const vae = new AutoencoderKL(await readConfig(VaeConfigSchema, path.join(folder, "config.json")), { kind: "zeros" });
    const [file] = await weightFiles(folder);
    await loadWeights(vae.params, [file]);
    const saved = path.join(dir, "vae-resaved.safetensors");
    await saveWeights(vae.params, saved);
    const original = await readSafetensors(file);
    const resaved = await readSafetensors(saved);
    expect([...resaved.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, tensor] of original) {
      expect(resaved.get(name)!.shape, name).toEqual(tensor.shape);
      expect(bytesOf(resaved.get(name)!.data).equals(bytesOf(tensor.data)), name).toBe(true);
    }
    const reader = await SafetensorsReader.open(saved);
    expect(reader.metadata).toEqual({ format: "pt" });
    await reader.close();
    vae.params.dispose();
  });
});

describe("save → load round trip", () => {
  it("restores every UNet variable exactly, also through F16 (to half precision)", async () => {
    const original = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 7 });
    const file = path.join(dir, "unet.safetensors");
    await saveWeights(original.params, file);
    const header = (await SafetensorsReader.open(file).then(async (reader) => (await reader.close(), reader.tensors))).get("conv_in.weight")!;
    // PyTorch layout on disk: [out, in, kh, kw].
    expect(header.shape).toEqual([32, 4, 3, 3]);
    const restored = new UNet2DConditionModel(tinyUNetConfig, { kind: "zeros" });
    await loadWeights(restored.params, [file]);
    const restoredValues = await values(restored.params);
    for (const [name, bytes] of await values(original.params)) expect(restoredValues.get(name)!.equals(bytes), name).toBe(true);

    const halfFile = path.join(dir, "unet-f16.safetensors");
    await saveWeights(original.params, halfFile, { dtype: "F16" });
    const fromHalf = new UNet2DConditionModel(tinyUNetConfig, { kind: "zeros" });
    await loadWeights(fromHalf.params, [halfFile]);
    const weight = (await fromHalf.params.params.get("conv_in.weight")!.variable.data()) as Float32Array;
    const exact = (await original.params.params.get("conv_in.weight")!.variable.data()) as Float32Array;
    for (let i = 0; i < exact.length; i++) expect(Math.abs(weight[i] - exact[i])).toBeLessThanOrEqual(Math.abs(exact[i]) * 2 ** -11 + 2 ** -24);
    for (const model of [original, restored, fromHalf]) model.params.dispose();
  });
});

describe("mismatches", () => {
  const tiny = async (tensors: [string, TensorToWrite][]) => {
    const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.safetensors`);
    await writeSafetensors(file, tensors);
    return file;
  };
  const f32 = (shape: number[]): TensorToWrite => ({ dtype: "F32", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

  it("refuses a tensor whose shape differs, naming file, tensor and both shapes", async () => {
    const vae = new AutoencoderKL(tinyVaeConfig, { kind: "zeros" });
    const file = await tiny([["encoder.conv_in.weight", f32([32, 3, 1, 1])]]);
    await expect(loadWeights(vae.params, [file], { strict: false })).rejects.toThrow(
      /case-.*\.safetensors: tensor "encoder\.conv_in\.weight" has shape \[32,3,1,1\], expected \[32,3,3,3\]/,
    );
    vae.params.dispose();
  });

  it("reports missing and unexpected tensors by name, and strict loading throws listing them", async () => {
    const vae = new AutoencoderKL(tinyVaeConfig, { kind: "zeros" });
    const file = await tiny([
      ["encoder.conv_in.weight", f32([32, 3, 3, 3])],
      ["encoder.conv_in.bias", f32([32])],
      ["encoder.not_a_layer.weight", f32([2])],
    ]);
    const report = await loadWeights(vae.params, [file], { strict: false });
    expect(report.loaded).toBe(2);
    expect(report.unexpected).toEqual(["encoder.not_a_layer.weight"]);
    expect(report.missing).toHaveLength(vae.params.params.size - 2);
    expect(report.missing).toContain("decoder.conv_out.weight");
    await expect(loadWeights(vae.params, [file])).rejects.toThrow(/unexpected 1 \[encoder\.not_a_layer\.weight\]/);
    vae.params.dispose();
  });
});

describe("buffers", () => {
  it("ignores CLIP's position_ids buffer that older transformers checkpoints store", async () => {
    const folder = parityDir("clip_text_tiny");
    const [file] = await weightFiles(folder);
    const tensors: [string, TensorToWrite][] = [...(await readSafetensors(file))].map(([name, tensor]) => [
      name,
      { dtype: "F32", shape: tensor.shape, data: tensor.data as Float32Array },
    ]);
    tensors.push(["text_model.embeddings.position_ids", { dtype: "I32", shape: [1, 77], data: Int32Array.from({ length: 77 }, (_, i) => i) }]);
    const withBuffer = path.join(dir, "clip-with-position-ids.safetensors");
    await writeSafetensors(withBuffer, tensors);
    const model = new ClipTextModel(await readConfig(ClipTextConfigSchema, path.join(folder, "config.json")), { kind: "zeros" });
    const report = await loadWeights(model.params, [withBuffer]);
    expect(report).toEqual({ loaded: model.params.params.size, missing: [], unexpected: [] });
    model.params.dispose();
  });
});

describe("legacy VAE attention names", () => {
  it("loads query/key/value/proj_attn (also as 1×1 conv weights) into the same computation", async () => {
    const folder = parityDir("vae_tiny_g8");
    const config = await readConfig(VaeConfigSchema, path.join(folder, "config.json"));
    const [file] = await weightFiles(folder);
    const modern = await readSafetensors(file);
    const legacyName = (name: string) =>
      name.replace(/\.to_q\./, ".query.").replace(/\.to_k\./, ".key.").replace(/\.to_v\./, ".value.").replace(/\.to_out\.0\./, ".proj_attn.");
    const legacy: [string, TensorToWrite][] = [...modern].map(([name, tensor]) => {
      const renamed = legacyName(name);
      // Old conversions stored the projections as [out, in, 1, 1] convolutions.
      const shape = renamed !== name && tensor.shape.length === 2 ? [...tensor.shape, 1, 1] : tensor.shape;
      return [renamed, { dtype: "F32", shape, data: tensor.data as Float32Array }];
    });
    expect(legacy.some(([name]) => name.endsWith("mid_block.attentions.0.proj_attn.weight"))).toBe(true);
    const legacyFile = path.join(dir, "legacy-vae.safetensors");
    await writeSafetensors(legacyFile, legacy);

    const fromModern = new AutoencoderKL(config, { kind: "zeros" });
    const fromLegacy = new AutoencoderKL(config, { kind: "zeros" });
    await loadWeights(fromModern.params, [file]);
    await loadWeights(fromLegacy.params, [legacyFile]);
    const image = tf.randomUniform([1, 16, 16, 3], -1, 1, "float32", 3) as tf.Tensor4D;
    const a = fromModern.encode(image);
    const b = fromLegacy.encode(image);
    expect(bytesOf((await b.mean.data()) as Float32Array).equals(bytesOf((await a.mean.data()) as Float32Array))).toBe(true);
    tf.dispose([image, a.mean, a.logvar, a.std, b.mean, b.logvar, b.std]);
    fromModern.params.dispose();
    fromLegacy.params.dispose();
  });
});

describe("loadStableDiffusion", () => {
  it("loads unet/, vae/ and text_encoder/ of a diffusers folder, and names the folder that fails", async () => {
    const root = path.join(dir, "sd-folder");
    for (const [sub, network] of [["unet", "unet_sd15_4lvl"], ["vae", "vae_tiny_g8"], ["text_encoder", "clip_text_tiny"]] as const) {
      await mkdir(path.join(root, sub), { recursive: true });
      const source = parityDir(network);
      await cp(path.join(source, "config.json"), path.join(root, sub, "config.json"));
      const [weights] = await weightFiles(source);
      await cp(weights, path.join(root, sub, path.basename(weights)));
    }
    const networks = await loadStableDiffusion(root);
    expect(networks.unet.config.block_out_channels).toEqual([32, 32, 64, 64]);
    expect(networks.vae.scalingFactor).toBe(0.18215);
    expect(networks.textEncoder.config.hidden_size).toBe(32);
    for (const network of Object.values(networks)) network.params.dispose();

    await rm(path.join(root, "vae", "diffusion_pytorch_model.safetensors"));
    await expect(loadStableDiffusion(root)).rejects.toThrow(/sd-folder\/vae: no safetensors weights/);
  });
});
