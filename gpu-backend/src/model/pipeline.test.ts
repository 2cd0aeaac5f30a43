import * as tf from "@tensorflow/tfjs-core";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "../tensor/backend.js";
import { ClipTextModel } from "./clip-text.js";
import { createLora, disposeLora } from "./lora.js";
import { disposeStableDiffusion, generate, loadStableDiffusionPipeline, type GenerateOptions, type StableDiffusion } from "./pipeline.js";
import { SD15_SCHEDULER_CONFIG } from "./schedulers/config.js";
import { tinyClipTextConfig, tinyUNetConfig, tinyVaeConfig } from "./tiny.js";
import { byteToUnicodeTable, ClipTokenizer } from "./tokenizer.js";
import { UNet2DConditionModel } from "./unet.js";
import { AutoencoderKL } from "./vae.js";
import { saveWeights } from "./weights.js";

/** CLIP's byte alphabet alone (no merges): one token per character, special tokens at the tiny encoder's ids. */
function tinyVocab(): Record<string, number> {
  const vocab: Record<string, number> = {};
  byteToUnicodeTable().forEach((character, byte) => {
    vocab[character] = byte;
    vocab[`${character}</w>`] = 256 + byte;
  });
  return { ...vocab, "<|startoftext|>": tinyClipTextConfig.bos_token_id, "<|endoftext|>": tinyClipTextConfig.eos_token_id };
}

let model: StableDiffusion;
const base: GenerateOptions = { prompt: "a photo of sks dog", seed: 42, steps: 2, guidanceScale: 7.5, scheduler: "ddim", width: 16, height: 16 };

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  model = {
    tokenizer: new ClipTokenizer({ vocab: tinyVocab(), merges: [], maxLength: tinyClipTextConfig.max_position_embeddings }),
    textEncoder: new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 3 }),
    unet: new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 }),
    vae: new AutoencoderKL(tinyVaeConfig, { kind: "random", seed: 2 }),
    scheduler: SD15_SCHEDULER_CONFIG,
  };
});
afterAll(() => disposeStableDiffusion(model));

const differingBytes = (a: Uint8Array, b: Uint8Array) => a.reduce((count, value, i) => count + (value !== b[i] ? 1 : 0), 0);

describe("generate", () => {
  it("gives the same image for the same seed and a different one for another seed", async () => {
    const first = await generate(model, base);
    const again = await generate(model, base);
    const other = await generate(model, { ...base, seed: 43 });
    expect(first.rgb).toEqual(again.rgb);
    expect(differingBytes(first.rgb, other.rgb)).toBeGreaterThan(50);
  });

  it("returns height × width × 3 bytes with guidance on and off, and guidance changes the image", async () => {
    const guided = await generate(model, { ...base, width: 24, height: 16 });
    const plain = await generate(model, { ...base, width: 24, height: 16, guidanceScale: 1 });
    for (const image of [guided, plain]) {
      expect(image).toMatchObject({ width: 24, height: 16 });
      expect(image.rgb).toBeInstanceOf(Uint8Array);
      expect(image.rgb.length).toBe(24 * 16 * 3);
    }
    expect(differingBytes(guided.rgb, plain.rgb)).toBeGreaterThan(50);
  });

  it("runs every scheduler and leaves the tensor count unchanged across runs", async () => {
    await generate(model, base);
    const before = tf.memory().numTensors;
    for (const scheduler of ["ddpm", "ddim", "euler", "dpmpp_2m"] as const) {
      const image = await generate(model, { ...base, scheduler });
      expect(image.rgb.length).toBe(16 * 16 * 3);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it("reports progress after each step, and a throwing callback cancels without leaking", async () => {
    const seen: Array<[number, number]> = [];
    await generate(model, { ...base, onProgress: (step, total) => void seen.push([step, total]) });
    expect(seen).toEqual([[1, 2], [2, 2]]);
    const before = tf.memory().numTensors;
    const cancelled = generate(model, { ...base, onProgress: (step) => { if (step === 2) throw new Error("cancelled by test"); } });
    await expect(cancelled).rejects.toThrow("cancelled by test");
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects a size that is not a multiple of the VAE factor", async () => {
    await expect(generate(model, { ...base, width: 33 })).rejects.toThrow(/multiples of 2/);
  });

  it("passes the LoRA scale through for one run: scale 0 renders the base model, and the scale is restored", async () => {
    const withoutLora = await generate(model, base);
    const lora = createLora(model.unet.params, { rank: 2, seed: 5 });
    for (const adapter of lora.adapters.values()) adapter.up.assign(tf.randomNormal(adapter.up.shape, 0, 0.5, "float32", 9));
    model.unet.params.lora = lora;
    try {
      const atZero = await generate(model, { ...base, loraScale: 0 });
      const atOne = await generate(model, { ...base, loraScale: 1 });
      expect(atZero.rgb).toEqual(withoutLora.rgb);
      expect(differingBytes(atOne.rgb, withoutLora.rgb)).toBeGreaterThan(10);
      expect(lora.scale).toBe(1);
    } finally {
      model.unet.params.lora = undefined;
      disposeLora(lora);
    }
  });
});

describe("loadStableDiffusionPipeline", () => {
  let folder: string;
  afterAll(async () => rm(folder, { recursive: true, force: true }));

  it("loads a diffusers folder (model_index.json layout) that renders what the in-memory model renders", async () => {
    folder = await mkdtemp(path.join(tmpdir(), "sd-pipeline-"));
    const json = (value: unknown) => JSON.stringify(value);
    for (const part of ["tokenizer", "text_encoder", "unet", "vae", "scheduler"]) await mkdir(path.join(folder, part));
    await writeFile(path.join(folder, "model_index.json"), json({
      _class_name: "StableDiffusionPipeline",
      tokenizer: ["transformers", "CLIPTokenizer"],
      text_encoder: ["transformers", "CLIPTextModel"],
      unet: ["diffusers", "UNet2DConditionModel"],
      vae: ["diffusers", "AutoencoderKL"],
      scheduler: ["diffusers", "PNDMScheduler"],
    }));
    await writeFile(path.join(folder, "tokenizer", "vocab.json"), json(tinyVocab()));
    await writeFile(path.join(folder, "tokenizer", "merges.txt"), "#version: 0.2\n");
    await writeFile(path.join(folder, "tokenizer", "tokenizer_config.json"), json({ model_max_length: 77, pad_token: "<|endoftext|>" }));
    await writeFile(path.join(folder, "scheduler", "scheduler_config.json"), json({ _class_name: "PNDMScheduler", ...SD15_SCHEDULER_CONFIG, skip_prk_steps: true }));
    await writeFile(path.join(folder, "text_encoder", "config.json"), json(tinyClipTextConfig));
    await writeFile(path.join(folder, "unet", "config.json"), json(tinyUNetConfig));
    await writeFile(path.join(folder, "vae", "config.json"), json(tinyVaeConfig));
    await saveWeights(model.textEncoder.params, path.join(folder, "text_encoder", "model.safetensors"));
    await saveWeights(model.unet.params, path.join(folder, "unet", "diffusion_pytorch_model.safetensors"));
    await saveWeights(model.vae.params, path.join(folder, "vae", "diffusion_pytorch_model.safetensors"));

    const loaded = await loadStableDiffusionPipeline(folder);
    try {
      expect(loaded.scheduler.beta_schedule).toBe("scaled_linear");
      expect((await generate(loaded, base)).rgb).toEqual((await generate(model, base)).rgb);
    } finally {
      disposeStableDiffusion(loaded);
    }
  });

  it("says which file is wrong when the folder is not a diffusers pipeline", async () => {
    await expect(loadStableDiffusionPipeline(path.join(folder, "unet"))).rejects.toThrow(/model_index.json/);
  });
});
