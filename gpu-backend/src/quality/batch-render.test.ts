import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeStableDiffusion, generate, loadStableDiffusionPipeline, type StableDiffusion } from "../model/pipeline.js";
import { ensureTinyRandomModel } from "../model/tiny-random-model.js";
import { initTensorBackend } from "../tensor/backend.js";
import { renderBatch } from "./batch-render.js";

describe("batched rendering", () => {
  let dir: string;
  let model: StableDiffusion;
  beforeAll(async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    dir = await mkdtemp(path.join(tmpdir(), "batch-render-"));
    model = await loadStableDiffusionPipeline(await ensureTinyRandomModel(dir));
  });
  afterAll(async () => {
    disposeStableDiffusion(model);
    await rm(dir, { recursive: true, force: true });
  });

  it("gives each (prompt, seed) the image generate() gives it alone", async () => {
    const requests = [
      { prompt: "a dog", seed: 3 },
      { prompt: "a cat on a red background", seed: 9 },
    ];
    const batch = renderBatch(model, { requests, steps: 4, guidanceScale: 3, scheduler: "ddim", resolution: 32 });
    for (const [i, request] of requests.entries()) {
      const single = await generate(model, { ...request, steps: 4, guidanceScale: 3, scheduler: "ddim", width: 32, height: 32 });
      const bytes = Array.from(batch[i].data, (value) => Math.round((value + 1) * 127.5));
      const worst = Math.max(...bytes.map((value, k) => Math.abs(value - single.rgb[k])));
      expect(worst).toBeLessThanOrEqual(1);
    }
    expect(batch[0].data).not.toEqual(batch[1].data);
  });
});
