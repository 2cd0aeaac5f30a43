import { describe, expect, it } from "vitest";
import {
  GenerationParamsSchema,
  resolveTrainingParams,
  TrainingParamsSchema,
  type TrainingParamsInput,
} from "../../../shared/index.js";
import { parseLogProgress } from "./log-progress.js";
import { mapGenerationParams, mapTrainingParams } from "./trainer-params.js";

const subject = { identifier: "sks", class_noun: "dog" };

function mapRequest(requested: TrainingParamsInput) {
  const resolved = resolveTrainingParams(TrainingParamsSchema.parse(requested), subject, { resolution: 512 }, 42);
  return mapTrainingParams(requested, resolved, subject);
}

describe("training params → cog-sdxl trainer inputs", () => {
  it("maps the defaults, using the identifier as the trained token and turning prior preservation off", () => {
    const mapped = mapRequest({});
    expect(mapped.ok).toBe(true);
    if (!mapped.ok) return;
    expect(mapped.input).toEqual({
      max_train_steps: 1000,
      is_lora: true,
      lora_lr: 1e-4,
      lora_rank: 4,
      lr_scheduler: "constant",
      lr_warmup_steps: 0,
      resolution: 512,
      train_batch_size: 1,
      seed: 42,
      token_string: "sks",
      caption_prefix: "a photo of sks dog",
      mask_target_prompts: "a photo of dog",
      checkpointing_steps: 250,
    });
    expect(mapped.params.prior_preservation.enabled).toBe(false);
    expect(mapped.params.checkpoint_selection).toBe("last");
  });

  it("maps explicit choices: full fine-tune learning rate, rank, steps, seed, resolution", () => {
    const mapped = mapRequest({
      method: "full",
      learning_rate: 2e-6,
      steps: 400,
      seed: 7,
      resolution: 768,
      batch_size: 2,
      lr_warmup_steps: 10,
      prior_preservation: { enabled: false },
      lora_alpha: 4,
    });
    expect(mapped.ok && mapped.input).toMatchObject({
      is_lora: false,
      unet_learning_rate: 2e-6,
      max_train_steps: 400,
      seed: 7,
      resolution: 768,
      train_batch_size: 2,
      lr_warmup_steps: 10,
    });
    expect(mapped.ok && "lora_lr" in mapped.input).toBe(false);
  });

  it("rejects every explicit choice the trainer cannot honour, naming each field", () => {
    const mapped = mapRequest({
      lr_schedule: "cosine",
      lora_alpha: 8,
      prior_preservation: { num_class_images: 100 },
      train_text_encoder: true,
      max_grad_norm: 0.5,
      weight_decay: 0,
      offset_noise: 0.1,
      snr_gamma: 5,
      center_crop: false,
      random_flip: true,
      validation_prompts: ["a sks dog"],
      instance_prompt: "a photo of my dog",
      checkpoint_selection: "best",
    });
    expect(mapped.ok).toBe(false);
    if (mapped.ok) return;
    expect(mapped.issues.map((issue) => issue.path).sort()).toEqual(
      [
        "center_crop",
        "checkpoint_selection",
        "instance_prompt",
        "lora_alpha",
        "lr_schedule",
        "max_grad_norm",
        "offset_noise",
        "prior_preservation",
        "random_flip",
        "snr_gamma",
        "train_text_encoder",
        "validation_prompts",
        "weight_decay",
      ].sort(),
    );
    expect(mapped.issues.find((issue) => issue.path === "prior_preservation")!.message).toMatch(/no prior-preservation/);
  });

  it("accepts explicit values equal to what the trainer does", () => {
    expect(mapRequest({ max_grad_norm: 1, offset_noise: 0, random_flip: false, lora_rank: 8, lora_alpha: 8, checkpoint_selection: "last" }).ok).toBe(true);
  });
});

describe("generation params → cog-sdxl prediction inputs", () => {
  const resolve = (input: object) => ({ seed: 1, width: 1024, height: 1024, ...GenerationParamsSchema.parse(input) });

  it("maps prompt, sampler and sizes", () => {
    const mapped = mapGenerationParams(resolve({ prompt: "a sks dog on the moon", negative_prompt: "blurry", num_images: 2 }));
    expect(mapped).toEqual({
      ok: true,
      input: {
        prompt: "a sks dog on the moon",
        negative_prompt: "blurry",
        num_outputs: 2,
        num_inference_steps: 30,
        guidance_scale: 7.5,
        scheduler: "DPMSolverMultistep",
        seed: 1,
        width: 1024,
        height: 1024,
        lora_scale: 1,
      },
    });
  });

  it("rejects a sampler, image count, guidance or LoRA scale the model lacks", () => {
    const mapped = mapGenerationParams(
      resolve({ prompt: "x", scheduler: "ddpm", num_images: 5, guidance_scale: 0.5, lora_scale: 1.5 }),
    );
    expect(mapped.ok === false && mapped.issues.map((issue) => issue.path)).toEqual([
      "scheduler",
      "num_images",
      "guidance_scale",
      "lora_scale",
    ]);
  });
});

describe("progress from trainer logs", () => {
  const logs = [
    "Preprocessing: captioning",
    "100%|██████████| 5/5 [00:03<00:00,  1.52it/s]",
    "# PTI :step: 120, epoch: 3:  12%|█▏        | 120/1000 [00:40<04:53,  3.00it/s]",
    "# PTI :step: 450, epoch: 12:  45%|████▌     | 450/1000 [02:13<02:43,  3.37it/s, loss=0.0821]\r" +
      "# PTI :step: 451, epoch: 12:  45%|████▌     | 451/1000 [02:13<02:43,  3.37it/s, loss=8.2e-02]",
  ].join("\n");

  it("reads the latest bar counting the requested steps, with its loss", () => {
    expect(parseLogProgress(logs, 1000)).toEqual({ step: 451, total: 1000, loss: 0.082 });
    expect(parseLogProgress(logs.split("\n").slice(0, 3).join("\n"), 1000)).toEqual({ step: 120, total: 1000 });
  });

  it("ignores preprocessing bars and empty logs", () => {
    expect(parseLogProgress(logs.split("\n").slice(0, 2).join("\n"), 1000)).toBeNull();
    expect(parseLogProgress("", 1000)).toBeNull();
    expect(parseLogProgress(null, 1000)).toBeNull();
  });
});
