/**
 * A training under the faults a GPU host meets: asked to stop while it renders class
 * images, told by the Worker (409) that its attempt is stale, and killed during export
 * (covered by the final checkpoint). Real runner, real tiny model, a real HTTP stand-in
 * for the Worker's callbacks.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendEvent, TrainJob } from "../../../shared/job.js";
import { resolveTrainingParams, TrainingParamsSchema } from "../../../shared/params.js";
import { FakeWorkerCallbacks } from "../../../test/fakes/worker-callbacks.js";
import { loadBaseModel } from "../dreambooth/base-model.js";
import { ModelRegistry } from "../dreambooth/model-registry.js";
import { ensureTinyRandomModel, TINY_RANDOM_MODEL_ID } from "../model/tiny-random-model.js";
import { initTensorBackend } from "../tensor/backend.js";
import { runGenerateJob } from "./generate-job.js";
import { JobRunner } from "./job-runner.js";
import { runTrainJob } from "./train-job.js";

const SECRET = "faults-test-secret-0123";
const dataDir = mkdtempSync(join(tmpdir(), "faults-"));
let worker: FakeWorkerCallbacks;
let deps: Parameters<typeof runTrainJob>[1];
let jobCounter = 0;

const newRunner = () =>
  new JobRunner({
    secret: SECRET,
    backend: "wasm",
    device: "test",
    handlers: { train: (context) => runTrainJob(context, deps), generate: (context) => runGenerateJob(context, deps) },
    retry: { initialDelayMs: 20, maxDelayMs: 100, maxElapsedMs: 5_000 },
    progressIntervalMs: 0,
  });

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  const modelsDir = join(dataDir, "models");
  await ensureTinyRandomModel(modelsDir);
  const registry = new ModelRegistry((id) => loadBaseModel(join(modelsDir, id), id));
  deps = { model: (id: string) => registry.get(id), workDir: join(dataDir, "jobs") };
  worker = new FakeWorkerCallbacks(SECRET);
  await worker.start();
  const raw = Buffer.alloc(32 * 32 * 3, 90);
  worker.inputs.set("photo.jpg", new Uint8Array(await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer()));
});
afterAll(async () => {
  await worker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const subject = { identifier: "sks", class_noun: "dog" };

function trainJob(params: { steps: number; numClassImages: number; checkpointEvery?: number }): TrainJob {
  const bytes = worker.inputs.get("photo.jpg")!;
  return {
    job_id: `trn_faults_${++jobCounter}`,
    attempt: 1,
    kind: "train",
    base_model: TINY_RANDOM_MODEL_ID,
    callback_url: worker.callbackUrl,
    deadline: Date.now() + 600_000,
    subject,
    inputs: [{ name: "photo.jpg", url: worker.inputUrl("photo.jpg"), sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length }],
    params: resolveTrainingParams(
      TrainingParamsSchema.parse({
        steps: params.steps,
        checkpoint_selection: "last",
        method: "lora",
        learning_rate: 1e-3,
        lora_rank: 2,
        prior_preservation: { enabled: params.numClassImages > 0, num_class_images: Math.max(1, params.numClassImages), class_image_steps: 2 },
        checkpoint_every: params.checkpointEvery ?? 1000,
        validation_every: 100,
        validation_steps: 2,
      }),
      subject,
      { resolution: 32 },
      7,
    ),
  };
}

const eventsOf = (jobId: string) => worker.events.filter((event) => event.job_id === jobId);
const classImagesRendered = (jobId: string) =>
  Math.max(0, ...eventsOf(jobId).flatMap((event) => (event.type === "progress" && event.phase === "preparing" ? [event.step] : [])));

describe("a training under faults", () => {
  it("stops between class images when asked to shut down, and says it saved nothing", async () => {
    const runner = newRunner();
    const job = trainJob({ steps: 2, numClassImages: 40 });
    expect(runner.submit(job)).toBe("accepted");
    await worker.waitFor((event) => event.job_id === job.job_id && event.type === "progress" && event.phase === "preparing" && event.step >= 1, 60_000);
    await runner.shutdown();
    const end = eventsOf(job.job_id).at(-1);
    expect(end).toMatchObject({ type: "failed", code: "backend_shutdown", retryable: true, message: "the GPU backend shut down before it had a checkpoint to save" });
    expect(classImagesRendered(job.job_id)).toBeLessThan(40);
  });

  it("checkpoints the final step before it exports anything", async () => {
    const runner = newRunner();
    const job = trainJob({ steps: 2, numClassImages: 0 });
    runner.submit(job);
    expect(await runner.idle()).toEqual({ type: "succeeded", retryable: false });
    const files = eventsOf(job.job_id).flatMap((event) => (event.type === "artifact" ? [event.name] : []));
    expect(files.slice(0, 2)).toEqual(["checkpoints/step-000002.safetensors", "artifacts/pytorch_lora_weights.safetensors"]);
  });

  it("stops an attempt the Worker answers 409, and reports nothing more for it", async () => {
    const runner = newRunner();
    const job = trainJob({ steps: 400, numClassImages: 0 });
    runner.submit(job);
    await worker.waitFor((event) => event.job_id === job.job_id && event.type === "progress" && event.phase === "training", 60_000);
    worker.stale.add(job.job_id);
    const reported = eventsOf(job.job_id).length;
    const outcome = await runner.idle();
    expect(outcome).toEqual({ type: "superseded", retryable: false });
    const lastStep = Math.max(...eventsOf(job.job_id).flatMap((event: BackendEvent) => (event.type === "progress" ? [event.step] : [])));
    expect(lastStep).toBeLessThan(400);
    expect(eventsOf(job.job_id)).toHaveLength(reported);
  });
});
