import { describe, expect, it } from "vitest";
import { ModelRegistry } from "./model-registry.js";

describe("ModelRegistry", () => {
  it("loads each base model once and shares it between callers", async () => {
    let loads = 0;
    const registry = new ModelRegistry(async (id: string) => ({ id, load: ++loads }));
    const [first, second] = await Promise.all([registry.get("tiny"), registry.get("tiny")]);
    expect(first).toBe(second);
    expect(await registry.get("tiny")).toBe(first);
    expect(loads).toBe(1);
    expect(registry.loaded()).toEqual(["tiny"]);
  });

  it("forgets a failed load so a later job retries", async () => {
    let attempts = 0;
    const registry = new ModelRegistry(async () => {
      if (++attempts === 1) throw new Error("disk not mounted");
      return "bundle";
    });
    await expect(registry.get("sd15")).rejects.toThrow("disk not mounted");
    expect(registry.loaded()).toEqual([]);
    expect(await registry.get("sd15")).toBe("bundle");
  });
});
