import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SafetensorsReader } from "../model/safetensors.js";
import { ensureTinyRandomModel, TINY_RANDOM_MODEL_ID } from "../model/tiny-random-model.js";
import { initTensorBackend } from "../tensor/backend.js";
import { Random } from "../tensor/random.js";
import { loadBaseModel, type BaseModel } from "./base-model.js";
import { DIFFUSERS_FOLDER_PREFIX, DIFFUSERS_LORA_NAME, fullFineTuneExports, inheritedFiles, KOHYA_LORA_NAME, loraExports } from "./exports.js";
import { readLoraFile } from "./lora-files.js";
import { attachTrainableWeights } from "./trainable.js";

const directory = mkdtempSync(join(tmpdir(), "exports-"));
let model: BaseModel;

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  model = await loadBaseModel(await ensureTinyRandomModel(join(directory, "models")), TINY_RANDOM_MODEL_ID);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** UNet prediction for fixed inputs, conditioned on the text encoder's embedding of fixed ids. */
function prediction(target: BaseModel): Float32Array {
  return tf.tidy(() => {
    const random = new Random(5);
    const ids = tf.tensor2d(target.tokenizer.encode("a photo of sks dog"), [1, 77], "int32");
    const context = target.textEncoder.forward(ids).lastHiddenState;
    const latents = random.normal<tf.Rank.R4>([1, 8, 8, 4]);
    return target.unet.forward(latents, tf.tensor1d([500]), context).dataSync() as Float32Array;
  });
}

function expectClose(actual: Float32Array, expected: Float32Array) {
  const worst = actual.reduce((max, value, i) => Math.max(max, Math.abs(value - expected[i])), 0);
  expect(worst).toBeLessThan(1e-5);
}

/** Makes the attached weights look trained: non-zero LoRA ups, or perturbed full weights. */
function perturb(variables: Map<string, tf.Variable>) {
  let seed = 1;
  for (const variable of variables.values()) {
    variable.assign(tf.add(variable, tf.mul(new Random(seed++).normal(variable.shape), 0.05)));
  }
}

describe("exports load back into our model with identical outputs", () => {
  it("LoRA: the diffusers and the kohya file", async () => {
    const base = prediction(model);
    const trainable = attachTrainableWeights(
      { unet: model.unet, textEncoder: model.textEncoder },
      { method: "lora", lora_rank: 4, lora_alpha: 8, train_text_encoder: true, seed: 1 },
    );
    perturb(trainable.variables);
    const trained = prediction(model);
    expect(trained).not.toEqual(base);
    const artifacts = await loraExports(model, trainable.lora!, directory, { rank: 4 });
    trainable.release();
    expect(prediction(model)).toEqual(base);

    for (const artifact of artifacts) {
      const file = join(directory, `reloaded-${artifact.format}.safetensors`);
      writeFileSync(file, artifact.bytes);
      const sets = await readLoraFile(file, { unet: model.unet.params, text_encoder: model.textEncoder.params });
      model.unet.params.lora = sets.unet;
      model.textEncoder.params.lora = sets.text_encoder;
      // The diffusers file carries α/r inside lora_B, so it agrees to float rounding; kohya's is bit-identical.
      if (artifact.format === "kohya-lora") expect(prediction(model)).toEqual(trained);
      else expectClose(prediction(model), trained);
      model.unet.params.lora = undefined;
      model.textEncoder.params.lora = undefined;
      console.log(`${artifact.name}: ${artifact.bytes.length} bytes`);
    }
    expect(artifacts.map((artifact) => [artifact.name, artifact.format])).toEqual([
      [DIFFUSERS_LORA_NAME, "diffusers-lora"],
      [KOHYA_LORA_NAME, "kohya-lora"],
    ]);
    const kohya = await SafetensorsReader.open(join(directory, "reloaded-kohya-lora.safetensors"));
    const names = kohya.names;
    expect(names).toContain("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight");
    expect(names).toContain("lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn2_to_out_0.lora_up.weight");
    expect(names).toContain("lora_te_text_model_encoder_layers_1_self_attn_out_proj.alpha");
    const kohyaPattern =
      /^lora_(unet_(down_blocks_\d+|mid_block|up_blocks_\d+)_attentions_\d+_transformer_blocks_\d+_attn[12]_(to_q|to_k|to_v|to_out_0)|te_text_model_encoder_layers_\d+_self_attn_(q|k|v|out)_proj)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
    expect(names.filter((name) => !kohyaPattern.test(name))).toEqual([]);
    const toK = kohya.tensors.get("lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight")!;
    expect(toK.shape).toEqual([4, model.textEncoder.config.hidden_size]);
    expect(kohya.metadata).toMatchObject({ ss_network_dim: "4", ss_network_alpha: "8.0", ss_base_model_version: "sd_v1" });
    await kohya.close();
  });

  it("full fine-tune: the whole diffusers folder", async () => {
    const base = prediction(model);
    const trainable = attachTrainableWeights(
      { unet: model.unet, textEncoder: model.textEncoder },
      { method: "full", lora_rank: 4, lora_alpha: 4, train_text_encoder: true, seed: 1 },
    );
    perturb(trainable.variables);
    const trained = prediction(model);
    const artifacts = await fullFineTuneExports(model, true, directory, {}, "# the trained model's card\n");
    trainable.release();
    expect(prediction(model)).toEqual(base);

    const folder = join(directory, "exported");
    for (const artifact of artifacts) {
      const file = join(folder, artifact.name.slice(DIFFUSERS_FOLDER_PREFIX.length + 1));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, artifact.bytes);
    }
    const relativePaths = artifacts.map((artifact) => artifact.name.slice(DIFFUSERS_FOLDER_PREFIX.length + 1));
    expect(relativePaths).toEqual(expect.arrayContaining(["model_index.json", "unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors", "vae/diffusion_pytorch_model.safetensors", "tokenizer/vocab.json", "scheduler/scheduler_config.json"]));
    const reloaded = await loadBaseModel(folder, "exported");
    expect(prediction(reloaded)).toEqual(trained);
    expect(readFileSync(join(folder, "README.md"), "utf8")).toBe("# the trained model's card\n");
    // What transformers' AutoConfig / AutoTokenizer need, on top of what the base folder had.
    const textEncoderConfig = JSON.parse(readFileSync(join(folder, "text_encoder/config.json"), "utf8"));
    expect(textEncoderConfig).toMatchObject({ model_type: "clip_text_model", architectures: ["CLIPTextModel"], hidden_size: model.textEncoder.config.hidden_size, projection_dim: model.textEncoder.config.hidden_size });
    const tokenizerConfig = JSON.parse(readFileSync(join(folder, "tokenizer/tokenizer_config.json"), "utf8"));
    expect(tokenizerConfig).toMatchObject({ tokenizer_class: "CLIPTokenizer", clean_up_tokenization_spaces: true, model_max_length: model.tokenizer.maxLength });
    const size = artifacts.reduce((total, artifact) => total + artifact.bytes.length, 0);
    console.log(`full diffusers folder: ${artifacts.length} files, ${size} bytes`);
  });
});

describe("what a full fine-tune takes from its base folder", () => {
  it("the pipeline components model_index.json names and the licence files; not the base model's card, judge or benchmark", () => {
    const listing = [
      "LICENSE",
      "NOTICE",
      "README.md",
      "benchmark/results.json",
      "judge/config.json",
      "judge/model.safetensors",
      "model_index.json",
      "quality-gate.json",
      "scheduler/scheduler_config.json",
      "text_encoder/config.json",
      "tokenizer/vocab.json",
      "training.json",
      "unet/config.json",
      "vae/config.json",
    ];
    const modelIndex = {
      _class_name: "StableDiffusionPipeline",
      scheduler: ["diffusers", "DDIMScheduler"],
      text_encoder: ["transformers", "CLIPTextModel"],
      tokenizer: ["transformers", "CLIPTokenizer"],
      unet: ["diffusers", "UNet2DConditionModel"],
      vae: ["diffusers", "AutoencoderKL"],
    };
    expect(inheritedFiles(listing, modelIndex)).toEqual([
      "LICENSE",
      "NOTICE",
      "model_index.json",
      "scheduler/scheduler_config.json",
      "text_encoder/config.json",
      "tokenizer/vocab.json",
      "unet/config.json",
      "vae/config.json",
    ]);
  });
});
