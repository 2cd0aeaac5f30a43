import { describe, expect, it } from "vitest";
import { isValidationStep } from "./validation-schedule.js";

const stepsSampled = (steps: number, every: number, prompts = ["a sks dog"]) =>
  Array.from({ length: steps }, (_, index) => index + 1).filter((step) => isValidationStep(step, { steps, validation_every: every, validation_prompts: prompts }));

describe("validation schedule", () => {
  it("samples at the interval and at the last step", () => {
    expect(stepsSampled(600, 250)).toEqual([250, 500, 600]);
    expect(stepsSampled(500, 250)).toEqual([250, 500]);
  });

  it("samples a run shorter than the interval once, at its end", () => {
    expect(stepsSampled(20, 250)).toEqual([20]);
  });

  it("samples nothing without validation prompts", () => {
    expect(stepsSampled(20, 5, [])).toEqual([]);
  });
});
