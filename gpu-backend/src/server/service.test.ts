/**
 * The backend as the Worker sees it: a real service on 127.0.0.1 running real
 * DreamBooth jobs on the tiny-random model (wasm), driven by signed HTTP from a
 * fake Worker that receives the events, hands out upload slots and serves inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { classImagesCacheKey } from "../../../shared/r2keys.js";
import { signedHeaders } from "../../../shared/signing.js";
import type { BackendEvent, GenerateJob, TrainJob } from "../../../shared/job.js";
import { QualityReportSchema } from "../../../shared/quality.js";
import { resolveTrainingParams, TrainingParamsSchema } from "../../../shared/params.js";
import { loadBaseModel, type BaseModel } from "../dreambooth/base-model.js";
import { runGenerateJob } from "../jobs/generate-job.js";
import { runTrainJob } from "../jobs/train-job.js";
import { initTensorBackend } from "../tensor/backend.js";
import { FakeWorkerCallbacks } from "../../../test/fakes/worker-callbacks.js";
import { ModelRegistry } from "../dreambooth/model-registry.js";
import { startService, type RunningService } from "./service.js";
import { ensureTinyRandomModel, TINY_RANDOM_MODEL_ID } from "../model/tiny-random-model.js";
import { Judge } from "../quality/judge.js";
import { saveJudge } from "../quality/judge-files.js";

const SECRET = "service-test-secret-0123";
const dataDir = mkdtempSync(join(tmpdir(), "gpu-backend-"));
let worker: FakeWorkerCallbacks;
let service: RunningService;
let registry: ModelRegistry<BaseModel>;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function photo(seed: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(40 * 48 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + seed * 31 + ((i / 120) | 0) * 13) % 256;
  return new Uint8Array(await sharp(raw, { raw: { width: 40, height: 48, channels: 3 } }).jpeg().toBuffer());
}

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  const modelsDir = join(dataDir, "models");
  await ensureTinyRandomModel(modelsDir);
  registry = new ModelRegistry((id) => loadBaseModel(join(modelsDir, id), id));
  const deps = { model: (id: string) => registry.get(id), workDir: join(dataDir, "jobs") };
  worker = new FakeWorkerCallbacks(SECRET);
  await worker.start();
  for (const seed of [1, 2, 3]) worker.inputs.set(`photo-${seed}.jpg`, await photo(seed));
  service = await startService({
    port: 0,
    host: "127.0.0.1",
    secret: SECRET,
    backend: "wasm",
    device: "test",
    handlers: { train: (context) => runTrainJob(context, deps), generate: (context) => runGenerateJob(context, deps) },
    modelsLoaded: () => registry.loaded(),
    retry: { initialDelayMs: 50, maxDelayMs: 400, maxElapsedMs: 60_000 },
    progressIntervalMs: 0,
  });
});
afterAll(async () => {
  await service.stop();
  await worker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let jobCounter = 0;
function trainJob(overrides: Partial<TrainJob["params"]> = {}, extra: Partial<TrainJob> = {}): TrainJob {
  const inputs = [1, 2, 3].map((seed) => {
    const bytes = worker.inputs.get(`photo-${seed}.jpg`)!;
    return { name: `photo-${seed}.jpg`, url: worker.inputUrl(`photo-${seed}.jpg`), sha256: sha256(bytes), size: bytes.length };
  });
  return {
    job_id: `train_${++jobCounter}`,
    attempt: 1,
    kind: "train",
    base_model: TINY_RANDOM_MODEL_ID,
    callback_url: worker.callbackUrl,
    deadline: Date.now() + 600_000,
    subject: { identifier: "sks", class_noun: "dog" },
    inputs,
    params: {
      ...resolveTrainingParams(
        TrainingParamsSchema.parse({
          steps: 3,
          method: "lora",
          learning_rate: 1e-3,
          lora_rank: 2,
          prior_preservation: { enabled: true, num_class_images: 2, class_image_steps: 2 },
          random_flip: true,
          // The top of the uint32 range the Worker draws seeds from (signed 32-bit arithmetic on it goes negative).
          seed: 2 ** 32 - 1,
          checkpoint_every: 2,
          validation_every: 100,
          validation_steps: 2,
        }),
        { identifier: "sks", class_noun: "dog" },
        { resolution: 32 },
        0,
      ),
      ...overrides,
    },
    ...extra,
  };
}

async function submit(job: TrainJob | GenerateJob | object, path = "/jobs") {
  const body = JSON.stringify(job);
  const response = await fetch(`${service.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await signedHeaders(SECRET, body)) },
    body,
  });
  return { status: response.status, body: await response.json() };
}

const eventsOf = (jobId: string) => worker.events.filter((event) => event.job_id === jobId);
const terminalOf = (jobId: string) =>
  worker.waitFor((event) => event.job_id === jobId && ["succeeded", "failed", "canceled"].includes(event.type), 300_000);
const artifactsOf = (jobId: string) =>
  eventsOf(jobId).filter((event): event is Extract<BackendEvent, { type: "artifact" }> => event.type === "artifact");

describe("training over the push protocol", () => {
  let first: TrainJob;

  it("trains a LoRA with prior preservation: class images rendered and uploaded, checkpoint, exports, succeeded", async () => {
    const cacheKey = await classImagesCacheKey({ baseModel: TINY_RANDOM_MODEL_ID, classPrompt: "a photo of dog", count: 2, resolution: 32 });
    first = trainJob({ validation_prompts: ["a photo of sks dog on the beach"], validation_every: 3 }, { class_images: { cache_key: cacheKey } });
    expect((await submit(first)).status).toBe(202);
    const end = await terminalOf(first.job_id);
    expect(end).toMatchObject({ type: "succeeded", metrics: { steps: 3, exported_step: 3, class_images_cached: 0 } });
    // tiny-random has no judge: nothing to grade or compare, so the last step is exported and the event says why.
    expect(end.type === "succeeded" && end.quality).toBeUndefined();
    expect(end).toMatchObject({ selected_checkpoint: { selection: "best", step: 3, reason: expect.stringMatching(/no judge/), candidates: [] } });
    const events = eventsOf(first.job_id);
    expect(events[0]).toMatchObject({ type: "started", backend: "wasm", seq: 0 });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    const training = events.filter((event) => event.type === "progress" && event.phase === "training");
    expect(training.map((event) => (event.type === "progress" ? event.step : -1))).toEqual([1, 2, 3]);
    expect(training.every((event) => event.type === "progress" && Number.isFinite(event.loss) && event.eta_s !== undefined)).toBe(true);
    const names = artifactsOf(first.job_id).map((artifact) => `${artifact.format}:${artifact.name}`);
    expect(names).toEqual([
      "class-images:class-images",
      "checkpoint:checkpoints/step-000002.safetensors",
      "image:samples/step-000003-0.png",
      // The final step is checkpointed before the export, so a kill during export resumes without retraining.
      "checkpoint:checkpoints/step-000003.safetensors",
      "diffusers-lora:artifacts/pytorch_lora_weights.safetensors",
      "kohya-lora:artifacts/lora_kohya.safetensors",
    ]);
    expect(events.find((event) => event.type === "sample")).toMatchObject({ step: 3, artifact: "samples/step-000003-0.png", seed: 2 ** 32 - 1 });
    const classBundle = artifactsOf(first.job_id).find((artifact) => artifact.name === "class-images")!;
    expect(classBundle.meta).toMatchObject({ cache_key: cacheKey, count: 2, resolution: 32 });
    expect(sha256(worker.blobs.get("class-images")!.bytes)).toBe(classBundle.sha256);
    const sample = await sharp(worker.blobs.get("samples/step-000003-0.png")!.bytes).metadata();
    expect([sample.format, sample.width, sample.height]).toEqual(["png", 32, 32]);
  });

  it("reuses a cached class-image bundle without rendering and trains the same weights", async () => {
    const bundle = worker.blobs.get("class-images")!.bytes;
    worker.inputs.set("cached-class-images.tar", bundle);
    const loraOfFirst = worker.blobs.get("artifacts/pytorch_lora_weights.safetensors")!.bytes;
    const cached = trainJob(
      { validation_prompts: ["a photo of sks dog on the beach"], validation_every: 3 },
      { class_images: { cache_key: "k", url: worker.inputUrl("cached-class-images.tar"), sha256: sha256(bundle) } },
    );
    expect((await submit(cached)).status).toBe(202);
    expect(await terminalOf(cached.job_id)).toMatchObject({ type: "succeeded", metrics: { class_images_cached: 1 } });
    expect(artifactsOf(cached.job_id).some((artifact) => artifact.format === "class-images")).toBe(false);
    expect(worker.blobs.get("artifacts/pytorch_lora_weights.safetensors")!.bytes).toEqual(loraOfFirst);
  });

  it("resumes from a checkpoint and ends with the same weights as the uninterrupted run", async () => {
    const checkpoint = worker.blobs.get("checkpoints/step-000002.safetensors")!.bytes;
    const loraOfFirst = worker.blobs.get("artifacts/pytorch_lora_weights.safetensors")!.bytes;
    const kohyaOfFirst = worker.blobs.get("artifacts/lora_kohya.safetensors")!.bytes;
    worker.inputs.set("checkpoint.safetensors", checkpoint);
    worker.inputs.set("class-images.tar", worker.blobs.get("class-images")!.bytes);
    const resumed = trainJob(
      { validation_prompts: ["a photo of sks dog on the beach"], validation_every: 3 },
      {
        job_id: first.job_id,
        attempt: 2,
        class_images: { cache_key: "k", url: worker.inputUrl("class-images.tar") },
        resume: { url: worker.inputUrl("checkpoint.safetensors"), sha256: sha256(checkpoint), step: 2 },
      },
    );
    expect((await submit(resumed)).status).toBe(202);
    const end = await worker.waitFor((event) => event.job_id === first.job_id && event.attempt === 2 && event.type === "succeeded", 300_000);
    expect(end).toMatchObject({ metrics: { resumed_from_step: 2 } });
    const training = worker.events.filter((event) => event.attempt === 2 && event.type === "progress" && event.phase === "training");
    expect(training.map((event) => (event.type === "progress" ? event.step : -1))).toEqual([3]);
    expect(worker.blobs.get("artifacts/pytorch_lora_weights.safetensors")!.bytes).toEqual(loraOfFirst);
    expect(worker.blobs.get("artifacts/lora_kohya.safetensors")!.bytes).toEqual(kohyaOfFirst);
  });

  it("fails with input_checksum_mismatch naming the photo when a photo's bytes differ", async () => {
    const job = trainJob();
    job.inputs[1] = { ...job.inputs[1], sha256: "a".repeat(64) };
    expect((await submit(job)).status).toBe(202);
    const end = await terminalOf(job.job_id);
    expect(end).toMatchObject({ type: "failed", code: "input_checksum_mismatch", retryable: false });
    expect(end.type === "failed" && end.message).toMatch(/photo-2\.jpg/);
  });

  it("answers 503 while busy, and a cancel stops training within one step and reports canceled", async () => {
    const long = trainJob({ steps: 200, prior_preservation: { enabled: false, weight: 1, num_class_images: 1, class_prompt: "a photo of dog", class_image_steps: 1 } });
    expect((await submit(long)).status).toBe(202);
    expect((await submit(long)).status).toBe(202);
    const other = trainJob();
    const busy = await submit(other);
    expect(busy.status).toBe(503);
    expect(busy.body).toMatchObject({ error: { code: "backend_busy" } });
    const health = (await (await fetch(`${service.url}/healthz`)).json()) as { queue_depth: number; current_job: { job_id: string } };
    expect(health).toMatchObject({ queue_depth: 1, current_job: { job_id: long.job_id } });

    await worker.waitFor((event) => event.job_id === long.job_id && event.type === "progress" && event.phase === "training" && event.step >= 2);
    const stepsBeforeCancel = Math.max(...trainingSteps(long.job_id));
    expect((await submit({ job_id: long.job_id, attempt: 1 }, `/jobs/${long.job_id}/cancel`)).status).toBe(202);
    expect(await terminalOf(long.job_id)).toMatchObject({ type: "canceled" });
    expect(Math.max(...trainingSteps(long.job_id))).toBeLessThanOrEqual(stepsBeforeCancel + 1);
    await service.runner.idle();
  });

  it("keeps retrying events while the callback is down and the job still ends right", async () => {
    const job = trainJob({ steps: 2, prior_preservation: { enabled: false, weight: 1, num_class_images: 1, class_prompt: "a photo of dog", class_image_steps: 1 } });
    expect((await submit(job)).status).toBe(202);
    await worker.waitFor((event) => event.job_id === job.job_id && event.type === "started");
    await worker.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await worker.start();
    expect(await terminalOf(job.job_id)).toMatchObject({ type: "succeeded" });
    const events = eventsOf(job.job_id);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
  });

  it("generates PNGs with the trained LoRA at an adjustable scale", async () => {
    const lora = worker.blobs.get("artifacts/pytorch_lora_weights.safetensors")!.bytes;
    worker.inputs.set("lora.safetensors", lora);
    const job: GenerateJob = {
      job_id: "gen_1",
      attempt: 1,
      kind: "generate",
      base_model: TINY_RANDOM_MODEL_ID,
      callback_url: worker.callbackUrl,
      deadline: Date.now() + 600_000,
      params: {
        prompt: "a photo of sks dog in the snow",
        num_images: 2,
        steps: 4,
        guidance_scale: 7.5,
        scheduler: "dpmpp_2m",
        seed: 11,
        width: 32,
        height: 40,
        lora_scale: 0.8,
      },
      weights: {
        format: "diffusers-lora",
        method: "lora",
        files: [{ name: "pytorch_lora_weights.safetensors", url: worker.inputUrl("lora.safetensors"), sha256: sha256(lora), size: lora.length }],
      },
    };
    expect((await submit(job)).status).toBe(202);
    expect(await terminalOf(job.job_id)).toMatchObject({ type: "succeeded", metrics: { images: 2 } });
    const images = artifactsOf(job.job_id);
    expect(images.map((image) => [image.name, image.meta])).toEqual([
      ["images/00-11.png", { width: 32, height: 40, seed: 11, index: 0 }],
      ["images/01-12.png", { width: 32, height: 40, seed: 12, index: 1 }],
    ]);
    const png = await sharp(worker.blobs.get("images/00-11.png")!.bytes).metadata();
    expect([png.format, png.width, png.height]).toEqual(["png", 32, 40]);
    const model = await registry.get(TINY_RANDOM_MODEL_ID);
    expect(model.unet.params.lora).toBeUndefined();
  });
});

describe("full fine-tune", () => {
  it("exports the whole diffusers folder, and a generation job renders with its UNet instead of the base", async () => {
    const job = trainJob({
      method: "full",
      steps: 1,
      learning_rate: 1e-2,
      prior_preservation: { enabled: false, weight: 1, num_class_images: 1, class_prompt: "a photo of dog", class_image_steps: 1 },
    });
    expect((await submit(job)).status).toBe(202);
    expect(await terminalOf(job.job_id)).toMatchObject({ type: "succeeded" });
    const exported = artifactsOf(job.job_id).filter((artifact) => artifact.format === "diffusers").map((artifact) => artifact.name);
    expect(exported).toEqual(
      expect.arrayContaining(["artifacts/diffusers/model_index.json", "artifacts/diffusers/unet/diffusion_pytorch_model.safetensors", "artifacts/diffusers/vae/config.json"]),
    );
    const unet = worker.blobs.get("artifacts/diffusers/unet/diffusion_pytorch_model.safetensors")!.bytes;
    worker.inputs.set("full-unet.safetensors", unet);
    const generation = (jobId: string, withWeights: boolean): GenerateJob => ({
      job_id: jobId,
      attempt: 1,
      kind: "generate",
      base_model: TINY_RANDOM_MODEL_ID,
      callback_url: worker.callbackUrl,
      deadline: Date.now() + 600_000,
      params: { prompt: "a photo of sks dog", num_images: 1, steps: 2, guidance_scale: 1, scheduler: "ddim", seed: 5, width: 32, height: 32, lora_scale: 1 },
      ...(withWeights
        ? {
            weights: {
              format: "diffusers" as const,
              method: "full" as const,
              files: [{ name: "unet/diffusion_pytorch_model.safetensors", url: worker.inputUrl("full-unet.safetensors"), sha256: sha256(unet), size: unet.length }],
            },
          }
        : {}),
    });
    const rendered: Uint8Array[] = [];
    for (const [jobId, withWeights] of [["gen_full", true], ["gen_base", false]] as const) {
      expect((await submit(generation(jobId, withWeights))).status).toBe(202);
      expect(await terminalOf(jobId)).toMatchObject({ type: "succeeded" });
      rendered.push(worker.blobs.get("images/00-5.png")!.bytes);
    }
    expect(rendered[0]).not.toEqual(rendered[1]);
  });
});

describe("a base model with a judge", () => {
  it("scores each checkpoint, exports the selected step with its own card, and the succeeded event carries that step's quality report", async () => {
    // tiny-random plus a random judge: the numbers mean nothing, the wiring is what is checked.
    const judged = join(dataDir, "models", "tiny-judged");
    cpSync(join(dataDir, "models", TINY_RANDOM_MODEL_ID), judged, { recursive: true });
    const judge = new Judge({ classes: ["cat", "dog"], backgrounds: ["red", "blue", "yellow", "green"], sizes: ["small", "", "big"], channels: [8, 8, 8, 8] }, { kind: "random", seed: 3 });
    await saveJudge(judge, join(judged, "judge"), { note: "random, for the test" });
    const job = trainJob(
      {
        method: "full",
        steps: 2,
        checkpoint_every: 1,
        prior_preservation: { enabled: false, weight: 1, num_class_images: 1, class_prompt: "a photo of dog", class_image_steps: 1 },
      },
      { base_model: "tiny-judged" },
    );
    expect((await submit(job)).status).toBe(202);
    const end = await terminalOf(job.job_id);
    if (end.type !== "succeeded") throw new Error(JSON.stringify(end));
    const quality = QualityReportSchema.parse(end.quality);
    expect(JSON.parse(new TextDecoder().decode(worker.blobs.get("reports/quality.json")!.bytes))).toEqual(quality);
    const selected = end.selected_checkpoint!;
    expect(selected.candidates.map((candidate) => candidate.step)).toEqual([1, 2]);
    // The report is the exported step's, whichever step that is.
    const exportedCandidate = selected.candidates.find((candidate) => candidate.step === selected.step)!;
    expect([exportedCandidate.subject_fidelity, exportedCandidate.prompt_fidelity]).toEqual([quality.subject_fidelity, quality.prompt_fidelity]);
    expect(end.metrics).toMatchObject({ exported_step: selected.step });
    const exported = artifactsOf(job.job_id).filter((artifact) => artifact.format === "diffusers").map((artifact) => artifact.name);
    expect(exported.filter((name) => name.startsWith("artifacts/diffusers/judge/"))).toEqual([]);
    const card = new TextDecoder().decode(worker.blobs.get("artifacts/diffusers/README.md")!.bytes);
    expect(card).toContain('# DreamBooth: "sks dog" on tiny-judged');
    expect(card).toContain(`| exported step | ${selected.step} (${selected.reason}) |`);
    expect(card).toContain(`| subject fidelity ↑ | ${quality.subject_fidelity.toFixed(3)} |`);
  });
});

describe("shutdown", () => {
  it("on stop, the running training saves and uploads a checkpoint, reports a retryable failure and refuses new jobs", async () => {
    const job = trainJob({ steps: 200, checkpoint_every: 1000, prior_preservation: { enabled: false, weight: 1, num_class_images: 1, class_prompt: "a photo of dog", class_image_steps: 1 } });
    expect((await submit(job)).status).toBe(202);
    await worker.waitFor((event) => event.job_id === job.job_id && event.type === "progress" && event.phase === "training" && event.step >= 1);
    const stopped = service.stop();
    const refused = await submit(trainJob());
    expect(refused).toMatchObject({ status: 503, body: { error: { code: "backend_shutting_down" } } });
    const end = await terminalOf(job.job_id);
    await stopped;
    const checkpoint = artifactsOf(job.job_id).find((artifact) => artifact.format === "checkpoint");
    const lastStep = Math.max(...trainingSteps(job.job_id));
    expect(end).toMatchObject({ type: "failed", code: "backend_shutdown", retryable: true, message: `the GPU backend shut down after saving the checkpoint of step ${lastStep}` });
    expect(checkpoint).toMatchObject({ name: `checkpoints/step-${String(lastStep).padStart(6, "0")}.safetensors`, meta: { step: lastStep } });
    expect(lastStep).toBeLessThan(200);
  });
});

function trainingSteps(jobId: string): number[] {
  return eventsOf(jobId).flatMap((event) => (event.type === "progress" && event.phase === "training" ? [event.step] : []));
}
