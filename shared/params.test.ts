import { describe, expect, it } from "vitest";
import { expandSubjectPlaceholder, GenerationParamsSchema, resolveTrainingParams, TrainingParamsSchema } from "./params.js";
import { classImagesCacheKey } from "./r2keys.js";

const subject = { identifier: "sks", class_noun: "dog" };

describe("training params", () => {
  it("fills the paper's defaults and per-method learning rates", () => {
    const lora = resolveTrainingParams(TrainingParamsSchema.parse({}), subject, { resolution: 512 }, 42);
    expect(lora).toMatchObject({
      steps: 1000,
      method: "lora",
      learning_rate: 1e-4,
      lora_rank: 4,
      lora_alpha: 4,
      resolution: 512,
      seed: 42,
      instance_prompt: "a photo of sks dog",
      prior_preservation: { enabled: true, weight: 1, num_class_images: 200, class_prompt: "a photo of dog" },
    });
    const full = resolveTrainingParams(TrainingParamsSchema.parse({ method: "full", seed: 7 }), subject, { resolution: 64 }, 42);
    expect(full.learning_rate).toBe(5e-6);
    expect(full.seed).toBe(7);
  });

  it("expands {subject} in the instance and validation prompts, as in generation prompts", () => {
    const params = TrainingParamsSchema.parse({ instance_prompt: "a {subject}, smiling", validation_prompts: ["{subject} on a beach", "a cat"] });
    const resolved = resolveTrainingParams(params, subject, { resolution: 512 }, 42);
    expect(resolved.instance_prompt).toBe("a sks dog, smiling");
    expect(resolved.validation_prompts).toEqual(["sks dog on a beach", "a cat"]);
  });

  it("leaves the memory options off unless asked, and bounds the attention chunk", () => {
    const defaults = TrainingParamsSchema.parse({});
    expect(defaults.gradient_checkpointing).toBe(false);
    expect(defaults.attention_chunk).toBeUndefined();
    expect(TrainingParamsSchema.parse({ gradient_checkpointing: true, attention_chunk: 1024 })).toMatchObject({ gradient_checkpointing: true, attention_chunk: 1024 });
    const bad = TrainingParamsSchema.safeParse({ gradient_checkpointing: "yes", attention_chunk: 8.5 });
    expect(bad.error!.issues.map((issue) => issue.path.join("."))).toEqual(["gradient_checkpointing", "attention_chunk"]);
    expect(TrainingParamsSchema.safeParse({ attention_chunk: 8 }).success).toBe(false);
  });

  it("rejects out-of-range values and unknown fields, naming the field", () => {
    const bad = TrainingParamsSchema.safeParse({ steps: 0, resolution: 100, prior_preservation: { weight: -1 }, extra: 1 });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((issue) => issue.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["steps", "resolution", "prior_preservation.weight", ""]));
  });
});

describe("generation params", () => {
  it("expands {subject} and bounds num_images", () => {
    expect(expandSubjectPlaceholder("a {subject} on the beach", subject)).toBe("a sks dog on the beach");
    expect(GenerationParamsSchema.safeParse({ prompt: "x", num_images: 9 }).success).toBe(false);
    expect(GenerationParamsSchema.parse({ prompt: "x" })).toMatchObject({ num_images: 1, steps: 30, guidance_scale: 7.5 });
  });
});

describe("class image cache key", () => {
  it("is stable for the same set and differs when any part differs", async () => {
    const base = { baseModel: "tiny", classPrompt: "a photo of dog", count: 200, resolution: 64 };
    const key = await classImagesCacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(await classImagesCacheKey({ ...base, classPrompt: " A photo of dog " })).toBe(key);
    expect(await classImagesCacheKey({ ...base, count: 100 })).not.toBe(key);
    expect(await classImagesCacheKey({ ...base, resolution: 128 })).not.toBe(key);
  });
});

describe("checkpoint selection", () => {
  it('defaults to "best", takes "last", refuses anything else', () => {
    expect(TrainingParamsSchema.parse({}).checkpoint_selection).toBe("best");
    expect(TrainingParamsSchema.parse({ checkpoint_selection: "last" }).checkpoint_selection).toBe("last");
    const bad = TrainingParamsSchema.safeParse({ checkpoint_selection: "median" });
    expect(bad.error?.issues.map((issue) => issue.path.join("."))).toEqual(["checkpoint_selection"]);
  });
});
