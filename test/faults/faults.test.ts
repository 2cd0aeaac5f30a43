/**
 * The scripted fault run (`npm run test:faults`): the Worker (`npm start`'s wrangler
 * dev) and one real GPU backend process on 127.0.0.1, with a short heartbeat, and a
 * training per fault — SIGKILL and restart, SIGTERM in each phase, killed and never
 * restarted, frozen with SIGSTOP past the heartbeat, and a host that accepts
 * connections and never answers. Each job must end in the state the fault allows
 * with an honest error, resume from its checkpoint where there is one, hold exactly
 * one reserve and one settle or release, and serve weights only if it succeeded.
 * `FAULT_DISPATCH=queue` runs the same faults with queue dispatch (one pulling host
 * and a local stand-in for the Queues API). Each scenario's row is printed as JSON.
 */
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiClient, followEvents, makePhotos, startLocalSystem } from "../../scripts/lib/local-api.mjs";
import { FakeQueuesApi } from "../fakes/queues-api.js";
import { pollUntil, signingSecret, startGpuHost, type GpuHost } from "../e2e/gpu-hosts.js";

const MODE = process.env.FAULT_DISPATCH === "queue" ? "queue" : "push";
const HEARTBEAT_S = 15;
const UNREACHABLE_S = 45;
const STEPS = 12;
const QUEUE = { token: "faults-queues-token", accountId: "acc-faults", queueId: "dreambooth-jobs", maxRetries: 5 };

let stateDir: string;
let system: Awaited<ReturnType<typeof startLocalSystem>>;
let api: ReturnType<typeof apiClient>;
let subjectId: string;
let backendPort: number;
let queues: FakeQueuesApi | undefined;
let host: GpuHost | undefined;
let hostCount = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startHost(): Promise<GpuHost> {
  const started = startGpuHost(`backend-${++hostCount}`, {
    PORT: String(backendPort),
    BACKEND_SIGNING_SECRET: signingSecret(),
    DATA_DIR: join(stateDir, "gpu-backend"),
    PRELOAD_MODEL: "tiny-random",
    ...(queues
      ? {
          QUEUE_PULL_API_BASE: queues.apiBase,
          QUEUE_PULL_ACCOUNT_ID: QUEUE.accountId,
          QUEUE_PULL_QUEUE_ID: QUEUE.queueId,
          QUEUE_PULL_API_TOKEN: QUEUE.token,
          QUEUE_PULL_VISIBILITY_S: "10",
          QUEUE_PULL_IDLE_MS: "300",
        }
      : {}),
  });
  await started.waitForLine(/gpu-backend listening on/, 180_000);
  host = started;
  return started;
}

async function stopHost(): Promise<void> {
  if (!host) return;
  const current = host;
  host = undefined;
  current.signal("SIGCONT");
  current.signal("SIGKILL");
  await current.exited;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "faults-"));
  backendPort = await freePort();
  if (MODE === "queue") {
    queues = new FakeQueuesApi(QUEUE);
    await queues.start();
  }
  system = await startLocalSystem({
    env: {
      PORT: "0",
      START_STATE_DIR: stateDir,
      START_GPU_BACKEND: "0",
      GPU_BACKEND_URL: `http://127.0.0.1:${backendPort}`,
      DEFAULT_BASE_MODEL: "tiny-random",
      HEARTBEAT_TIMEOUT_S: String(HEARTBEAT_S),
      MAX_ATTEMPTS: "3",
      UNREACHABLE_TIMEOUT_S: String(UNREACHABLE_S),
      BACKEND_REQUEST_TIMEOUT_S: "3",
      QUEUE_WAIT_TIMEOUT_S: String(UNREACHABLE_S),
      DISPATCH_MODE: MODE,
      ...(queues
        ? { JOB_QUEUE_API_BASE: queues.apiBase, JOB_QUEUE_ACCOUNT_ID: QUEUE.accountId, JOB_QUEUE_ID: QUEUE.queueId, JOB_QUEUE_API_TOKEN: QUEUE.token }
        : {}),
    },
  });
  api = apiClient(system.url, system.api_key);
  const subject = await api.post("/v1/subjects", { name: "Faulty", class_noun: "dog" });
  const photos = await makePhotos(3);
  const { uploads } = await api.post(`/v1/subjects/${subject.id}/uploads`, { files: photos.map((photo) => ({ name: photo.name, content_type: "image/jpeg" })) });
  for (const [index, upload] of uploads.entries()) await fetch(upload.url, { method: "PUT", headers: upload.headers, body: photos[index].bytes });
  await api.post(`/v1/subjects/${subject.id}/finalize`);
  subjectId = subject.id;
}, 300_000);

afterAll(async () => {
  await stopHost();
  await system?.stop();
  await queues?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

interface Outcome {
  /** What the job's reservation held: its price. */
  price: number;
  job: { id: string; status: string; attempt: number; attempts_used: number; error?: { code: string; message: string; retryable: boolean } };
  resumedFrom: number | null;
  seconds: number;
  credits: string[];
  download: number;
}

/**
 * Starts a training and applies `fault` once it reaches `phase` (polled), then waits for
 * the end; returns what a client sees, the resumed-from step, time and ledger entries.
 */
async function scenario(name: string, params: Record<string, unknown>, phase: string, fault: (jobId: string) => Promise<void>): Promise<Outcome> {
  const began = Date.now();
  const { id } = await api.post("/v1/trainings", { subject_id: subjectId, params: { steps: STEPS, lora_rank: 2, checkpoint_every: 2, ...params } });
  const { reservations } = await api.get("/v1/usage?limit=1");
  const price: number = reservations.find((reservation: { job_id: string }) => reservation.job_id === id).amount;
  let resumedFrom: number | null = null;
  const followed = followEvents(`${system.url}/v1/trainings/${id}/events`, system.api_key, (_event: string | undefined, data: { detail?: { type?: string; metrics?: { resumed_from_step?: number } } }) => {
    if (data.detail?.type === "succeeded") resumedFrom = data.detail.metrics?.resumed_from_step ?? null;
  }).catch(() => undefined);
  await pollUntil(() => api.get(`/v1/trainings/${id}`), (job) => job.status === phase || ["succeeded", "failed", "canceled"].includes(job.status), 240_000, `${id} ${phase}`);
  await fault(id);
  const job = await pollUntil(() => api.get(`/v1/trainings/${id}`), (view) => ["succeeded", "failed", "canceled"].includes(view.status), 300_000, `${id} terminal`);
  const seconds = Math.round((Date.now() - began) / 1000);
  await Promise.race([followed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  const usage = await api.get("/v1/usage?limit=100");
  const credits = usage.ledger.items.filter((entry: { job_id: string | null }) => entry.job_id === id).map((entry: { type: string; amount: number }) => `${entry.type}:${entry.amount}`).sort();
  const download = (await fetch(`${system.url}/v1/models/${id}/files/diffusers-lora`, { headers: { authorization: `Bearer ${system.api_key}` } })).status;
  const outcome = { job, price, resumedFrom, seconds, credits, download };
  console.log(`FAULT ${JSON.stringify({ mode: MODE, scenario: name, status: job.status, attempt: job.attempt, attempts_used: job.attempts_used, resumed_from_step: resumedFrom, seconds, credits, download, error: job.error ?? null })}`);
  return outcome;
}

const noClassImages = { prior_preservation: { enabled: false } };

function expectSucceeded(outcome: Outcome, attempts: { attempt: number; used: number }) {
  expect(outcome.job).toMatchObject({ status: "succeeded", attempt: attempts.attempt, attempts_used: attempts.used });
  expect(outcome.credits).toEqual([`reserve:${-outcome.price}`, "settle:0"]);
  expect(outcome.download).toBe(200);
}

function expectFailedRetryable(outcome: Outcome, code: string) {
  expect(outcome.job.status).toBe("failed");
  expect(outcome.job.error).toMatchObject({ code, retryable: true });
  expect(outcome.credits).toEqual([`release:${outcome.price}`, `reserve:${-outcome.price}`]);
  expect(outcome.download).toBe(410);
}

it("SIGKILL during training, restarted at once: a counted second attempt resumes from the checkpoint", async () => {
  await startHost();
  const outcome = await scenario("SIGKILL in training, restart", noClassImages, "training", async (id) => {
    await pollUntil(() => api.get(`/v1/trainings/${id}`), (job) => job.progress.step >= 3 || job.status !== "training", 120_000, "step 3");
    await stopHost();
    await startHost();
  });
  expectSucceeded(outcome, { attempt: 2, used: 2 });
  expect(outcome.resumedFrom).toBeGreaterThanOrEqual(2);
}, 600_000);

it("SIGTERM during class images: stops between images, the retry counts (nothing was saved)", async () => {
  const outcome = await scenario("SIGTERM in class images", { prior_preservation: { num_class_images: 30, class_image_steps: 2 } }, "preparing", async () => {
    host!.signal("SIGTERM");
    // Graceful: the process exits on its own, well within a grace period.
    await Promise.race([host!.exited, new Promise((_, reject) => setTimeout(() => reject(new Error("SIGTERM not honoured in 60 s")), 60_000))]);
    host = undefined;
    await startHost();
  });
  expectSucceeded(outcome, { attempt: 2, used: 2 });
}, 600_000);

it("SIGTERM during training: the checkpoint is saved and the restart does not use up an attempt", async () => {
  const outcome = await scenario("SIGTERM in training", noClassImages, "training", async (id) => {
    await pollUntil(() => api.get(`/v1/trainings/${id}`), (job) => job.progress.step >= 2 || job.status !== "training", 120_000, "step 2");
    host!.signal("SIGTERM");
    await host!.exited;
    host = undefined;
    await startHost();
  });
  expectSucceeded(outcome, { attempt: 2, used: 1 });
  expect(outcome.resumedFrom).toBeGreaterThanOrEqual(2);
}, 600_000);

it("SIGTERM during export: the final checkpoint was saved before it, so nothing is retrained", async () => {
  const outcome = await scenario("SIGTERM in export", noClassImages, "exporting", async () => {
    host!.signal("SIGTERM");
    await host!.exited;
    host = undefined;
    await startHost();
  });
  // Export of the tiny model may finish before the signal lands; either way the job ends succeeded, charged once.
  expect(outcome.job.status).toBe("succeeded");
  expect(outcome.credits).toEqual([`reserve:${-outcome.price}`, "settle:0"]);
  if (outcome.job.attempt > 1) expect(outcome.resumedFrom).toBe(STEPS);
}, 600_000);

it("frozen (SIGSTOP) past the heartbeat: a new attempt takes over, the thawed old one is told 409 and stops", async () => {
  const outcome = await scenario("SIGSTOP in training, SIGCONT later", noClassImages, "training", async (id) => {
    host!.signal("SIGSTOP");
    await pollUntil(() => api.get(`/v1/trainings/${id}`), (job) => job.attempt >= 2, (HEARTBEAT_S + 60) * 1000, "re-dispatch after silence");
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const resumedAt = host!.lines.length;
    host!.signal("SIGCONT");
    await host!.waitForLine(/409|stopped/, 60_000, resumedAt).catch(() => undefined);
  });
  expect(outcome.job.status).toBe("succeeded");
  expect(outcome.job.attempts_used).toBe(2);
  expect(outcome.credits).toEqual([`reserve:${-outcome.price}`, "settle:0"]);
}, 600_000);

it("SIGKILL and never restarted: fails as unreachable, retryable, credits released, no weights", async () => {
  const outcome = await scenario("SIGKILL, never restarted", noClassImages, "training", async () => {
    await stopHost();
  });
  expectFailedRetryable(outcome, MODE === "queue" ? "no_gpu_host" : "backend_unreachable");
}, 600_000);

// No push in queue mode: there a silent host is the frozen one above.
it.skipIf(MODE === "queue")("a host that accepts connections and never answers: the job fails as unreachable within its budget", async () => {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(backendPort, "127.0.0.1", resolve));
  try {
    const outcome = await scenario("never answers", noClassImages, "queued", async () => undefined);
    expectFailedRetryable(outcome, "backend_unreachable");
    expect(outcome.seconds).toBeLessThan(UNREACHABLE_S + 30);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
}, 600_000);
