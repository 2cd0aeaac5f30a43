import { describe, expect, it } from "vitest";
import { baseModelCatalog } from "../jobs/base-model-catalog.js";
import type { BaseModelList } from "../jobs/base-model-schema.js";
import { createAccount, expectError } from "../../test/helpers/api.js";
import { SELF } from "cloudflare:test";

const LOCAL_CPU = { DEFAULT_BACKEND: "container", DEFAULT_BASE_MODEL: "tiny-emoji", GPU_BACKEND_DEVICE: "cpu" } as Env;

describe("GET /v1/models", () => {
  it("lists every base model with its resolution, the default flagged, and the prices jobs are charged", async () => {
    const owner = await createAccount();
    const response = await owner.request("/v1/models");
    expect(response.status).toBe(200);
    const catalog = await response.json<BaseModelList>();
    expect(catalog.default_base_model).toBe("sd15");
    expect(catalog.items.map((model) => [model.id, model.resolution, model.default])).toEqual([
      ["sd15", 512, true],
      ["tiny-emoji", 32, false],
      ["tiny-random", 32, false],
    ]);
    expect(catalog.prices.training.lora).toEqual({ base: 200, per_step: 1 });
    await expectError(await SELF.fetch("http://dbe.test/v1/models"), 401);
  });

  it("gives tiny-emoji's whole vocabulary and a suggested prompt made of it", () => {
    const tiny = baseModelCatalog({ env: LOCAL_CPU, keyMode: "live" }).items.find((model) => model.id === "tiny-emoji")!;
    expect(tiny.vocabulary?.classes).toHaveLength(32);
    expect(tiny.vocabulary?.backgrounds).toHaveLength(8);
    const known = new Set<string>(Object.values(tiny.vocabulary!).flat());
    const words = tiny.suggested_prompt.replace("{subject}", "").split(/\s+/).filter(Boolean);
    expect(words.filter((word) => !known.has(word))).toEqual([]);
    expect(baseModelCatalog({ env: LOCAL_CPU, keyMode: "live" }).items.find((model) => model.id === "sd15")?.vocabulary).toBeNull();
  });

  it("says where the caller's jobs run and gives that device's timing only", () => {
    const local = baseModelCatalog({ env: LOCAL_CPU, keyMode: "live" });
    expect(local.backend).toEqual({ name: "container", device: "cpu" });
    expect(local.items.find((model) => model.default)).toMatchObject({ id: "tiny-emoji", timing: { per_step_s: expect.any(Number) } });
    const gpuHost = baseModelCatalog({ env: { ...LOCAL_CPU, GPU_BACKEND_DEVICE: "gpu" }, keyMode: "live" });
    expect(gpuHost.backend.device).toBe("gpu");
    expect(gpuHost.items.every((model) => model.timing === null)).toBe(true);
    // A test key's jobs always run on the fake backend, which runs no model.
    expect(baseModelCatalog({ env: LOCAL_CPU, keyMode: "test" }).backend).toEqual({ name: "fake", device: null });
  });
});
