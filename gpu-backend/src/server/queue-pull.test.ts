import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GenerateJob } from "../../../shared/job.js";
import { loadBaseModel } from "../dreambooth/base-model.js";
import { runGenerateJob } from "../jobs/generate-job.js";
import { runTrainJob } from "../jobs/train-job.js";
import { initTensorBackend } from "../tensor/backend.js";
import { FakeWorkerCallbacks } from "../../../test/fakes/worker-callbacks.js";
import { JobRunner } from "../jobs/job-runner.js";
import { ModelRegistry } from "../dreambooth/model-registry.js";
import { QueuePullConsumer, settlementFor } from "./queue-pull.js";
import { FakeQueuesApi } from "../../../test/fakes/queues-api.js";
import { ensureTinyRandomModel, TINY_RANDOM_MODEL_ID } from "../model/tiny-random-model.js";

const SECRET = "queue-test-secret-0123";
const TOKEN = "queues-api-token";
const dataDir = mkdtempSync(join(tmpdir(), "queue-pull-"));

let worker: FakeWorkerCallbacks;
let queues: FakeQueuesApi;
let runner: JobRunner;
const consumer = (apiToken = TOKEN, hostId = "host-a") =>
  new QueuePullConsumer(runner, {
    apiBase: queues.apiBase,
    accountId: "acc",
    queueId: "q1",
    apiToken,
    secret: SECRET,
    hostId,
    visibilityTimeoutMs: 60_000,
    idleDelayMs: 50,
    retryDelaySeconds: 0,
  });

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  const modelsDir = join(dataDir, "models");
  await ensureTinyRandomModel(modelsDir);
  const registry = new ModelRegistry((id) => loadBaseModel(join(modelsDir, id), id));
  const deps = { model: (id: string) => registry.get(id), workDir: join(dataDir, "jobs") };
  worker = new FakeWorkerCallbacks(SECRET);
  await worker.start();
  queues = new FakeQueuesApi({ token: TOKEN, accountId: "acc", queueId: "q1", maxRetries: 1 });
  await queues.start();
  runner = new JobRunner({
    secret: SECRET,
    backend: "wasm",
    device: "test",
    handlers: { train: (context) => runTrainJob(context, deps), generate: (context) => runGenerateJob(context, deps) },
    retry: { initialDelayMs: 20, maxDelayMs: 100, maxElapsedMs: 5_000 },
  });
});
afterAll(async () => {
  await worker.stop();
  await queues.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const generateJob = (jobId: string, weightsUrl?: string): GenerateJob => ({
  job_id: jobId,
  attempt: 1,
  kind: "generate",
  base_model: TINY_RANDOM_MODEL_ID,
  callback_url: worker.callbackUrl,
  deadline: Date.now() + 600_000,
  params: { prompt: "a photo of sks dog", num_images: 1, steps: 1, guidance_scale: 1, scheduler: "ddim", seed: 3, width: 32, height: 32, lora_scale: 1 },
  ...(weightsUrl
    ? { weights: { format: "diffusers-lora", method: "lora", files: [{ name: "lora.safetensors", url: weightsUrl, sha256: "0".repeat(64), size: 1 }] } }
    : {}),
});

describe("queue-pull mode", () => {
  it("pulls with a short lease, claims the attempt, acks at once and runs it", async () => {
    const id = queues.publish(JSON.stringify(generateJob("gen_q1")));
    expect(await consumer().processOne()).toBe(true);
    expect(queues.pulls.at(-1)).toMatchObject({ batch_size: 1, visibility_timeout_ms: 60_000, got: [id] });
    expect(worker.claims).toContainEqual({ job_id: "gen_q1", attempt: 1, host: "host-a" });
    expect(queues.acked).toContain(id);
    expect(worker.events.filter((event) => event.job_id === "gen_q1").map((event) => event.type)).toContain("succeeded");
    expect(worker.blobs.has("images/00-3.png")).toBe(true);
  });

  it("acks and drops a redelivered message whose attempt another host claimed, without running it", async () => {
    worker.claims.push({ job_id: "gen_q2", attempt: 1, host: "host-b" });
    const id = queues.publish(JSON.stringify(generateJob("gen_q2")));
    expect(await consumer().processOne()).toBe(true);
    expect(queues.acked).toContain(id);
    expect(worker.events.filter((event) => event.job_id === "gen_q2")).toEqual([]);
  });

  it("acks and drops a message for a stale or finished attempt", async () => {
    worker.stale.add("gen_q3");
    const id = queues.publish(JSON.stringify(generateJob("gen_q3")));
    expect(await consumer().processOne()).toBe(true);
    expect(queues.acked).toContain(id);
    expect(worker.events.filter((event) => event.job_id === "gen_q3")).toEqual([]);
  });

  it("hands a message back when the Worker cannot be reached to claim it; the queue dead-letters it after its retries", async () => {
    const unreachable = { ...generateJob("gen_q4"), callback_url: "http://127.0.0.1:9/internal/jobs/gen_q4/events" };
    const id = queues.publish(JSON.stringify(unreachable));
    expect(await consumer().processOne()).toBe(true);
    expect(queues.retried).toContainEqual({ id, delay_seconds: 0 });
    expect(await consumer().processOne()).toBe(true);
    expect(await consumer().processOne()).toBe(false);
    expect(queues.deadLettered.map((message) => message.id)).toEqual([id]);
    expect(queues.acked).not.toContain(id);
  });

  it("reads a json message, which the pull API delivers base64-encoded", async () => {
    const id = queues.publish(JSON.stringify(generateJob("gen_q5")), "json");
    expect(await consumer().processOne()).toBe(true);
    expect(queues.acked).toContain(id);
    expect(worker.claims).toContainEqual({ job_id: "gen_q5", attempt: 1, host: "host-a" });
  });

  it("acks (drops) a message that is not a valid job, so it cannot loop forever", async () => {
    const id = queues.publish('{"kind":"train"}');
    expect(await consumer().processOne()).toBe(true);
    expect(queues.acked).toContain(id);
  });

  it("reports an empty queue and survives a rejected token", async () => {
    expect(await consumer().processOne()).toBe(false);
    expect(await consumer("wrong-token").processOne()).toBe(false);
  });

  it("runs as a loop until stopped", async () => {
    const id = queues.publish(JSON.stringify(generateJob("gen_q6")));
    const loop = consumer();
    loop.start();
    await worker.waitFor((event) => event.job_id === "gen_q6" && event.type === "succeeded");
    await loop.stop();
    expect(queues.acked).toContain(id);
  });

  it("settles by the claim: run or drop → ack, Worker unreachable → retry", () => {
    expect(settlementFor("l", "claimed", 9)).toEqual({ lease_id: "l", action: "ack" });
    expect(settlementFor("l", "refused", 9)).toEqual({ lease_id: "l", action: "ack" });
    expect(settlementFor("l", "unreachable", 9)).toEqual({ lease_id: "l", action: "retry", delay_seconds: 9 });
  });
});
