import { describe, expect, it } from "vitest";
import { TrainingParamsSchema } from "../../../shared/index.js";
import { trainingParams } from "../../../webapp/public/js/training-params.js";

const subject = { identifier: "sks", class_noun: "dog" };
const defaults = {
  steps: "1000",
  method: "lora",
  lora_rank: "4",
  seed: "",
  prior_enabled: true,
  prior_weight: "1",
  num_class_images: "200",
  validation_prompt: "a photo of {subject} on a beach",
};

describe("training form → params", () => {
  it("sends the form's defaults as params the API accepts, with {subject} expanded in the validation prompt", () => {
    const params = trainingParams(defaults, subject);
    expect(params).toEqual({
      steps: 1000,
      method: "lora",
      lora_rank: 4,
      prior_preservation: { enabled: true, weight: 1, num_class_images: 200 },
      validation_prompts: ["a photo of sks dog on a beach"],
    });
    expect(TrainingParamsSchema.safeParse(params).success).toBe(true);
  });

  it("leaves out what does not apply: rank for a full fine-tune, λ and class images with prior preservation off", () => {
    const params = trainingParams({ ...defaults, method: "full", prior_enabled: false, seed: "42", validation_prompt: " " }, subject);
    expect(params).toEqual({ steps: 1000, method: "full", prior_preservation: { enabled: false }, seed: 42 });
    expect(TrainingParamsSchema.safeParse(params).success).toBe(true);
  });

  it("passes out-of-range input through for the service to reject by name", () => {
    const result = TrainingParamsSchema.safeParse(trainingParams({ ...defaults, steps: "0", prior_weight: "-1" }, subject));
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join("."))).toEqual(["steps", "prior_preservation.weight"]);
  });
});
