import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
import { ensureTinyRandomModel, TINY_RANDOM_MODEL_ID } from "../model/tiny-random-model.js";

const SECRET = "queue-test-secret-0123";
const TOKEN = "queues-api-token";
const dataDir = mkdtempSync(join(tmpdir(), "queue-pull-"));

/**
 * A fake of the Cloudflare Queues pull API with its documented shapes: bearer token, `messages/pull` with
 * `batch_size`/`visibility_timeout_ms` → `{success, errors, result: {messages: [{id, lease_id, attempts, body,
 * timestamp_ms}]}}`, `messages/ack` with `acks`/`retries` → `{success, result: {ackCount, retryCount}}`.
 */
class FakeQueues {
  readonly queued: { id: string; body: string; attempts: number; leasedUntil: number; leaseId?: string }[] = [];
  readonly acked: string[] = [];
  readonly retried: { id: string; delay_seconds: number }[] = [];
  readonly pulls: { batch_size: number; visibility_timeout_ms: number }[] = [];
  private server: Server | undefined;
  private leases = 0;
  origin = "";

  async start() {
    this.server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      const reply = (status: number, json: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(json));
      };
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        return reply(403, { success: false, errors: [{ code: 10000, message: "Authentication error" }], result: null });
      }
      if (request.url?.endsWith("/accounts/acc/queues/q1/messages/pull")) {
        this.pulls.push(body);
        const now = Date.now();
        const ready = this.queued.filter((message) => message.leasedUntil <= now).slice(0, body.batch_size ?? 5);
        for (const message of ready) {
          message.attempts++;
          message.leaseId = `lease-${++this.leases}`;
          message.leasedUntil = now + (body.visibility_timeout_ms ?? 30_000);
        }
        return reply(200, {
          success: true,
          errors: [],
          messages: [],
          result: {
            message_backlog_count: this.queued.length,
            messages: ready.map((message) => ({ id: message.id, lease_id: message.leaseId, attempts: message.attempts, body: message.body, timestamp_ms: now, metadata: {} })),
          },
        });
      }
      if (request.url?.endsWith("/accounts/acc/queues/q1/messages/ack")) {
        for (const { lease_id } of body.acks ?? []) {
          const index = this.queued.findIndex((message) => message.leaseId === lease_id);
          if (index >= 0) this.acked.push(...this.queued.splice(index, 1).map((message) => message.id));
        }
        for (const { lease_id, delay_seconds } of body.retries ?? []) {
          const message = this.queued.find((candidate) => candidate.leaseId === lease_id);
          if (message) {
            message.leasedUntil = Date.now() + delay_seconds * 1000;
            this.retried.push({ id: message.id, delay_seconds });
          }
        }
        return reply(200, { success: true, errors: [], messages: [], result: { ackCount: body.acks?.length ?? 0, retryCount: body.retries?.length ?? 0 } });
      }
      reply(404, { success: false, errors: [{ code: 7003, message: "No route for the URI" }], result: null });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/client/v4`;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

let worker: FakeWorkerCallbacks;
let queues: FakeQueues;
let runner: JobRunner;
const consumer = (apiToken = TOKEN) =>
  new QueuePullConsumer(runner, {
    apiBase: queues.origin,
    accountId: "acc",
    queueId: "q1",
    apiToken,
    visibilityTimeoutMs: 3_600_000,
    idleDelayMs: 50,
    retryDelaySeconds: 30,
  });

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  const modelsDir = join(dataDir, "models");
  await ensureTinyRandomModel(modelsDir);
  const registry = new ModelRegistry((id) => loadBaseModel(join(modelsDir, id), id));
  const deps = { model: (id: string) => registry.get(id), workDir: join(dataDir, "jobs") };
  worker = new FakeWorkerCallbacks(SECRET);
  await worker.start();
  queues = new FakeQueues();
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
  it("pulls a job with a lease, runs it through the runner and acks it when it succeeded", async () => {
    queues.queued.push({ id: "m1", body: JSON.stringify(generateJob("gen_q1")), attempts: 0, leasedUntil: 0 });
    expect(await consumer().processOne()).toBe(true);
    expect(queues.pulls.at(-1)).toEqual({ batch_size: 1, visibility_timeout_ms: 3_600_000 });
    expect(queues.acked).toEqual(["m1"]);
    expect(worker.events.filter((event) => event.job_id === "gen_q1").map((event) => event.type)).toContain("succeeded");
    expect(worker.blobs.has("images/00-3.png")).toBe(true);
  });

  it("hands a retryable failure back to the queue with a delay instead of acking it", async () => {
    queues.queued.push({ id: "m2", body: JSON.stringify(generateJob("gen_q2", `${worker.origin}/inputs/missing`)), attempts: 0, leasedUntil: 0 });
    expect(await consumer().processOne()).toBe(true);
    expect(worker.events.find((event) => event.job_id === "gen_q2" && event.type === "failed")).toMatchObject({ code: "input_unavailable", retryable: true });
    expect(queues.retried).toEqual([{ id: "m2", delay_seconds: 30 }]);
    expect(queues.acked).not.toContain("m2");
    queues.queued.splice(0);
  });

  it("acks (drops) a message that is not a valid job, so it cannot loop forever", async () => {
    queues.queued.push({ id: "m3", body: '{"kind":"train"}', attempts: 0, leasedUntil: 0 });
    expect(await consumer().processOne()).toBe(true);
    expect(queues.acked).toContain("m3");
  });

  it("reports an empty queue and survives a rejected token", async () => {
    expect(await consumer().processOne()).toBe(false);
    expect(await consumer("wrong-token").processOne()).toBe(false);
  });

  it("runs as a loop until stopped", async () => {
    queues.queued.push({ id: "m4", body: JSON.stringify(generateJob("gen_q4")), attempts: 0, leasedUntil: 0 });
    const loop = consumer();
    loop.start();
    await worker.waitFor((event) => event.job_id === "gen_q4" && event.type === "succeeded");
    await loop.stop();
    expect(queues.acked).toContain("m4");
  });

  it("settles by outcome: only retryable failures are retried", () => {
    expect(settlementFor("l", { type: "succeeded", retryable: false }, 9)).toEqual({ lease_id: "l", action: "ack" });
    expect(settlementFor("l", { type: "canceled", retryable: false }, 9)).toEqual({ lease_id: "l", action: "ack" });
    expect(settlementFor("l", { type: "failed", retryable: false }, 9)).toEqual({ lease_id: "l", action: "ack" });
    expect(settlementFor("l", { type: "failed", retryable: true }, 9)).toEqual({ lease_id: "l", action: "retry", delay_seconds: 9 });
  });
});
