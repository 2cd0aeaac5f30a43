/**
 * The embedded default, end to end with real processes on 127.0.0.1: `npm start`'s
 * Worker (wrangler dev) and GPU backend (tfjs on wasm, the embedded tiny-emoji model) wired
 * by the signed push protocol, driven through the public API only. A subject's five
 * photos go up through signed URLs, a short training with prior preservation runs on
 * the real backend (class images rendered, checkpoint, validation sample, exports),
 * its progress arrives over the event stream, a second training of the class reuses
 * the cached class images, and the generated PNGs and the kohya LoRA come back as
 * real files, with the judge's quality report in GET /v1/trainings/:id. Ports are free ones and the state lives in a temp
 * folder, so this runs beside other `npm start`s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { SelectedCheckpoint } from "../../shared/checkpoint-selection.js";
import { QualityReportSchema, type QualityReport } from "../../shared/quality.js";
import { apiClient, followEvents, makePhotos, startLocalSystem } from "../../scripts/lib/local-api.mjs";

type System = Awaited<ReturnType<typeof startLocalSystem>>;
interface JobView {
  id: string;
  status: string;
  backend: string;
  base_model: string;
  artifacts: { name: string; format: string; size: number }[];
  images: { url: string; width: number; height: number; seed: number }[];
}
interface StreamEvent {
  name: string;
  detail: { type?: string; phase?: string; step?: number; loss?: number; prompt?: string; metrics?: Record<string, number> } | null;
}

let system: System;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "e2e-train-generate-"));
  system = await startLocalSystem({ env: { PORT: "0", BACKEND_PORT: "0", START_STATE_DIR: stateDir } });
});

afterAll(async () => {
  await system?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Tensor names and their entries from a safetensors file's JSON header (u64 little-endian length first). */
function safetensorsHeader(bytes: Buffer): Record<string, { dtype?: string; shape?: number[] }> {
  const length = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
}

it("npm start's default: subject → 5 photos → finalize → training with prior preservation on the wasm backend → 2 PNGs and the kohya LoRA", async () => {
  expect(system).toMatchObject({ default_backend: "container", default_base_model: "tiny-emoji" });
  const api = apiClient(system.url, system.api_key);
  const download = async (path: string) => {
    const response = await fetch(new URL(path, system.url), { headers: { authorization: `Bearer ${system.api_key}` } });
    expect(response.status, path).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  };

  const subject = await api.post("/v1/subjects", { name: "Rex", class_noun: "dog" });
  const photos = await makePhotos(5);
  const { uploads } = await api.post(`/v1/subjects/${subject.id}/uploads`, {
    files: photos.map((photo) => ({ name: photo.name, content_type: "image/jpeg" })),
  });
  for (const [index, upload] of uploads.entries()) {
    const response = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: photos[index].bytes });
    expect(response.status, upload.name).toBeLessThan(300);
  }
  expect((await api.post(`/v1/subjects/${subject.id}/finalize`)).subject.status).toBe("ready");

  // No backend or base model named: the local defaults. A few steps, two class images, one checkpoint and one sample.
  const training = await api.post("/v1/trainings", {
    subject_id: subject.id,
    params: {
      steps: 4,
      lora_rank: 2,
      prior_preservation: { num_class_images: 2, class_image_steps: 2 },
      checkpoint_every: 2,
      gradient_checkpointing: false,
      validation_prompts: ["a {subject} on the beach"],
      validation_every: 4,
      validation_steps: 2,
    },
  });
  expect(training).toMatchObject({ backend: "container", base_model: "tiny-emoji", params: { resolution: 32 } });
  const seen: StreamEvent[] = [];
  const trained: JobView = await followEvents(`${system.url}/v1/trainings/${training.id}/events`, system.api_key, (name, data) =>
    seen.push({ name: name ?? "message", detail: data.detail }),
  );
  expect(trained.status, JSON.stringify(trained)).toBe("succeeded");
  const trainingSteps = seen.filter((event) => event.detail?.type === "progress" && event.detail.phase === "training");
  // The backend reports the first and the last step and at most one a second between them.
  const steps = trainingSteps.map((event) => event.detail!.step!);
  expect([steps[0], steps.at(-1)]).toEqual([1, 4]);
  expect(steps).toEqual([...steps].sort((a, b) => a - b));
  expect(trainingSteps.every((event) => Number.isFinite(event.detail!.loss))).toBe(true);
  expect(seen.some((event) => event.detail?.type === "progress" && event.detail.phase === "preparing" && event.detail.step === 2)).toBe(true);

  expect(seen.find((event) => event.detail?.type === "sample")?.detail?.prompt).toBe(`a ${subject.identifier} dog on the beach`);

  const view = (await api.get(`/v1/trainings/${training.id}`)) as JobView & { quality: QualityReport | null; selected_checkpoint: SelectedCheckpoint };
  // The embedded model ships a judge, so the training is graded on its own subject (DreamBench's measures).
  expect(view.quality).toMatchObject({ base_model: "tiny-emoji", subject: { identifier: subject.identifier, class_noun: "dog" } });
  expect(QualityReportSchema.safeParse(view.quality).success).toBe(true);
  expect(view.quality!.prompts.map((prompt) => prompt.kind)).toEqual(expect.arrayContaining(["recontextualization", "class"]));
  // The succeeded event carried the report: the stream's final state shows it without another GET.
  expect((trained as JobView & { quality: QualityReport | null }).quality).toEqual(view.quality);
  // The default checkpoint_selection "best" scored the step-2 checkpoint and the last step, and says which it exported.
  const selected = view.selected_checkpoint;
  expect(selected.candidates.map((candidate) => candidate.step)).toEqual([2, 4]);
  expect([2, 4]).toContain(selected.step);
  const artifacts = view.artifacts.map((artifact) => `${artifact.format}:${artifact.name}`);
  expect(artifacts).toEqual(
    expect.arrayContaining([
      "report:reports/quality.json",
      "class-images:class-images",
      "checkpoint:checkpoints/step-000002.safetensors",
      "image:samples/step-000004-0.png",
      "diffusers-lora:artifacts/pytorch_lora_weights.safetensors",
      "kohya-lora:artifacts/lora_kohya.safetensors",
    ]),
  );
  const sample = await sharp(await download(`/v1/trainings/${training.id}/samples/step-000004-0.png`)).metadata();
  expect(sample).toMatchObject({ format: "png", width: 32, height: 32 });

  // The kohya LoRA: lora_unet_<module> names, each with lora_down/lora_up weights of the trained rank and an alpha.
  const kohya = safetensorsHeader(await download(`/v1/models/${training.id}/files/kohya-lora`));
  const modules = new Map<string, string[]>();
  for (const name of Object.keys(kohya).filter((key) => key !== "__metadata__")) {
    const [, module, part] = /^(lora_unet_[a-z0-9_]+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(name) ?? [];
    expect(module, name).toBeDefined();
    modules.set(module, [...(modules.get(module) ?? []), part]);
  }
  expect(modules.size).toBeGreaterThan(0);
  for (const [module, parts] of modules) {
    expect(parts.sort(), module).toEqual(["alpha", "lora_down.weight", "lora_up.weight"]);
    expect(kohya[`${module}.lora_down.weight`].shape![0], module).toBe(2);
  }

  // A second training of the same class reuses the class images the first one rendered (same cache key).
  const again = await api.post("/v1/trainings", {
    subject_id: subject.id,
    params: { steps: 1, lora_rank: 2, prior_preservation: { num_class_images: 2, class_image_steps: 2 } },
  });
  const againEvents: StreamEvent[] = [];
  const retrained: JobView = await followEvents(`${system.url}/v1/trainings/${again.id}/events`, system.api_key, (name, data) =>
    againEvents.push({ name: name ?? "message", detail: data.detail }),
  );
  expect(retrained.status, JSON.stringify(retrained)).toBe("succeeded");
  expect(againEvents.find((event) => event.detail?.type === "succeeded")?.detail?.metrics).toMatchObject({ class_images_cached: 1 });
  expect(retrained.artifacts.map((artifact) => artifact.name)).not.toContain("class-images");

  const generation = await api.post("/v1/generations", { training_id: training.id, prompt: "a {subject} on the beach", num_images: 2, steps: 4 });
  const generated: JobView = await followEvents(`${system.url}/v1/generations/${generation.id}/events`, system.api_key);
  expect(generated.status, JSON.stringify(generated)).toBe("succeeded");
  expect(generated.images).toHaveLength(2);
  for (const image of generated.images) {
    const png = await sharp(await download(image.url)).metadata();
    expect(png).toMatchObject({ format: "png", width: 32, height: 32 });
    expect(image).toMatchObject({ width: 32, height: 32 });
  }
}, 420_000);
