import "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClipTextConfigSchema, UNetConfigSchema } from "./config.js";
import { ClipTextModel } from "./clip-text.js";
import { ClipTokenizer } from "./tokenizer.js";
import { UNet2DConditionModel } from "./unet.js";
import { loadPretrained } from "./weights.js";
import { ensureTinyRandomModel } from "./tiny-random-model.js";

const modelsDir = mkdtempSync(join(tmpdir(), "models-"));
beforeAll(async () => {
  await tf.setBackend("cpu");
});
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));

describe("tiny-random model", () => {
  it("is created once in the diffusers layout, labelled as random, and loads back", async () => {
    const directory = await ensureTinyRandomModel(modelsDir);
    const index = JSON.parse(readFileSync(join(directory, "model_index.json"), "utf8"));
    expect(index._note).toMatch(/RANDOM WEIGHTS/);
    const created = statSync(join(directory, "unet", "diffusion_pytorch_model.safetensors")).mtimeMs;
    await ensureTinyRandomModel(modelsDir);
    expect(statSync(join(directory, "unet", "diffusion_pytorch_model.safetensors")).mtimeMs).toBe(created);

    const unet = await loadPretrained(join(directory, "unet"), UNetConfigSchema, (config, init) => new UNet2DConditionModel(config, init));
    const fresh = new UNet2DConditionModel(unet.config, { kind: "random", seed: 1 });
    const name = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight";
    expect(unet.params.params.get(name)!.variable.dataSync()).toEqual(fresh.params.params.get(name)!.variable.dataSync());
    unet.params.dispose();
    fresh.params.dispose();
  });

  it("ships a tokenizer whose ids the tiny text encoder accepts", async () => {
    const directory = await ensureTinyRandomModel(modelsDir);
    const tokenizer = await ClipTokenizer.fromDirectory(join(directory, "tokenizer"));
    const textEncoder = await loadPretrained(join(directory, "text_encoder"), ClipTextConfigSchema, (config, init) => new ClipTextModel(config, init));
    const ids = tokenizer.encode("a photo of sks dog");
    expect(ids.length).toBe(77);
    expect(ids[0]).toBe(textEncoder.config.bos_token_id);
    expect(Array.from(ids).filter((id) => id === textEncoder.config.eos_token_id).length).toBeGreaterThan(0);
    expect(Math.max(...ids)).toBeLessThan(textEncoder.config.vocab_size);
    const hidden = textEncoder.forward(tf.tensor2d(ids, [1, 77], "int32")).lastHiddenState;
    expect(hidden.shape).toEqual([1, 77, 32]);
  });
});
