import { describe, expect, it } from "vitest";
import { z } from "zod";
import { TrainingParamsSchema } from "./params.js";
import { withoutDefaults } from "./without-defaults.js";

describe("withoutDefaults", () => {
  const request = withoutDefaults(TrainingParamsSchema);

  it("returns what the client sent, without the defaults the full schema fills in", () => {
    expect(request.parse({})).toEqual({});
    expect(request.parse({ prior_preservation: { enabled: false } })).toEqual({ prior_preservation: { enabled: false } });
    expect(TrainingParamsSchema.parse({}).steps).toBe(1000);
  });

  it("refuses what the full schema refuses, nested objects and unknown keys included", () => {
    for (const bad of [{ steps: 0 }, { steps: 1.5 }, { method: "dora" }, { extra: 1 }, { prior_preservation: { weight: -1 } }, { prior_preservation: { x: 1 } }]) {
      expect(request.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
      expect(TrainingParamsSchema.safeParse(bad).success).toBe(false);
    }
  });

  it("keeps each default as documentation", () => {
    const shape = (request as unknown as z.ZodObject).shape;
    expect(z.globalRegistry.get(shape.steps as z.ZodType)?.default).toBe(1000);
  });
});
