/**
 * Queue dispatch with real processes: the Worker (`npm start`'s wrangler dev with
 * DISPATCH_MODE=queue, sending over the Queues REST API) and three GPU backends
 * pulling from a local stand-in for the Queues API (leases expire, acks are final,
 * deliveries are counted). Ten short trainings of the embedded tiny model run on the
 * fleet; one host is SIGKILLed while it trains. Every job must end `succeeded`,
 * exactly one run of each must have succeeded, no job may run on two hosts at once,
 * and each job's credits must be reserved once and settled once at its exact price.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiClient, followEvents, makePhotos, startLocalSystem } from "../../scripts/lib/local-api.mjs";
import { FakeQueuesApi } from "../fakes/queues-api.js";
import { pollUntil, signingSecret, startGpuHost, type GpuHost } from "./gpu-hosts.js";

const QUEUE = { token: "fleet-queues-token", accountId: "acc-fleet", queueId: "dreambooth-jobs", maxRetries: 5 };
const JOBS = 10;
const STEPS = 12;

let stateDir: string;
let queues: FakeQueuesApi;
let system: Awaited<ReturnType<typeof startLocalSystem>>;
const hosts: GpuHost[] = [];

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "e2e-queue-fleet-"));
  queues = new FakeQueuesApi(QUEUE);
  await queues.start();
  system = await startLocalSystem({
    env: {
      PORT: "0",
      START_STATE_DIR: stateDir,
      START_GPU_BACKEND: "0",
      DEFAULT_BASE_MODEL: "tiny-random",
      DISPATCH_MODE: "queue",
      JOB_QUEUE_API_BASE: queues.apiBase,
      JOB_QUEUE_ACCOUNT_ID: QUEUE.accountId,
      JOB_QUEUE_ID: QUEUE.queueId,
      JOB_QUEUE_API_TOKEN: QUEUE.token,
      HEARTBEAT_TIMEOUT_S: "20",
      MAX_ATTEMPTS: "3",
    },
  });
  for (const index of [1, 2, 3]) {
    hosts.push(
      startGpuHost(`host-${index}`, {
        PORT: "0",
        BACKEND_SIGNING_SECRET: signingSecret(),
        DATA_DIR: join(stateDir, `host-${index}`),
        PRELOAD_MODEL: "tiny-random",
        QUEUE_PULL_API_BASE: queues.apiBase,
        QUEUE_PULL_ACCOUNT_ID: QUEUE.accountId,
        QUEUE_PULL_QUEUE_ID: QUEUE.queueId,
        QUEUE_PULL_API_TOKEN: QUEUE.token,
        QUEUE_PULL_HOST_ID: `host-${index}`,
        // Short leases, so a message taken by the host that dies comes back within the test.
        QUEUE_PULL_VISIBILITY_S: "10",
        QUEUE_PULL_IDLE_MS: "300",
      }),
    );
  }
  await Promise.all(hosts.map((host) => host.waitForLine(/pulling jobs from Cloudflare Queue/, 180_000)));
});

afterAll(async () => {
  for (const host of hosts) host.signal("SIGKILL");
  await system?.stop();
  await queues?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

interface Run {
  job: string;
  attempt: number;
  host: string;
  from: number;
  to: number;
  outcome: string;
}

/** Each host's runs from its log: "running <job> attempt <n>" to "… ended <outcome>", or to its death. */
function runsOf(host: GpuHost, diedAt: number | null): Run[] {
  const runs: Run[] = [];
  for (const line of host.lines) {
    const started = /queue: running (\S+) attempt (\d+) on/.exec(line.text);
    if (started) runs.push({ job: started[1], attempt: Number(started[2]), host: host.name, from: line.at, to: diedAt ?? Infinity, outcome: "killed" });
    const ended = /queue: (\S+) attempt (\d+) ended (\S+) on/.exec(line.text);
    const run = ended && runs.find((candidate) => candidate.job === ended[1] && candidate.attempt === Number(ended[2]));
    if (run) Object.assign(run, { to: line.at, outcome: ended![3] });
  }
  return runs;
}

it("ten trainings on three pulling hosts, one killed mid-training: each succeeds exactly once, never on two hosts at once, charged exactly", async () => {
  const api = apiClient(system.url, system.api_key);
  const subject = await api.post("/v1/subjects", { name: "Fleet", class_noun: "dog" });
  const photos = await makePhotos(3);
  const { uploads } = await api.post(`/v1/subjects/${subject.id}/uploads`, {
    files: photos.map((photo) => ({ name: photo.name, content_type: "image/jpeg" })),
  });
  for (const [index, upload] of uploads.entries()) {
    expect((await fetch(upload.url, { method: "PUT", headers: upload.headers, body: photos[index].bytes })).status).toBeLessThan(300);
  }
  await api.post(`/v1/subjects/${subject.id}/finalize`);
  const before = await api.get("/v1/usage");

  const params = { steps: STEPS, lora_rank: 2, checkpoint_every: 1, prior_preservation: { enabled: false } };
  const ids: string[] = [];
  /** Each job's price, as its reservation held it while the job was live. */
  const prices = new Map<string, number>();
  for (let index = 0; index < JOBS; index++) {
    const { id } = await api.post("/v1/trainings", { subject_id: subject.id, params });
    ids.push(id);
    const { reservations } = await api.get("/v1/usage?limit=1");
    prices.set(id, reservations.find((reservation: { job_id: string }) => reservation.job_id === id).amount);
  }

  // Kill the first host seen training a job past its first checkpoints, with steps still to go.
  const runningOn = (host: GpuHost) => runsOf(host, null).find((run) => run.outcome === "killed" && run.attempt === 1)?.job;
  const { victim, victimJob } = await pollUntil(
    async () => {
      for (const host of hosts) {
        const job = runningOn(host);
        const view = job && (await api.get(`/v1/trainings/${job}`));
        if (view?.status === "training" && view.progress.step >= 2 && view.progress.step <= STEPS - 3) return { victim: host, victimJob: job! };
      }
      return { victim: undefined, victimJob: "" };
    },
    (found) => found.victim !== undefined,
    240_000,
    "a host training a job",
  );
  victim!.signal("SIGKILL");
  const diedAt = Date.now();
  let resumedFrom: number | undefined;
  const followed = followEvents(`${system.url}/v1/trainings/${victimJob}/events`, system.api_key, (_event: string | undefined, data: { detail?: { type?: string; metrics?: { resumed_from_step?: number } } }) => {
    if (data.detail?.type === "succeeded") resumedFrom = data.detail.metrics?.resumed_from_step;
  });
  await victim!.exited;

  const finals = await pollUntil(
    () => Promise.all(ids.map((id) => api.get(`/v1/trainings/${id}`))),
    (jobs) => jobs.every((job) => ["succeeded", "failed", "canceled"].includes(job.status)),
    420_000,
    "all trainings terminal",
  );
  expect(finals.map((job) => `${job.id}:${job.status}`)).toEqual(ids.map((id) => `${id}:succeeded`));

  const runs = hosts.flatMap((host) => runsOf(host, host === victim! ? diedAt : null));
  for (const id of ids) {
    const ofJob = runs.filter((run) => run.job === id).sort((a, b) => a.from - b.from);
    expect(ofJob.filter((run) => run.outcome === "succeeded"), `${id}: ${JSON.stringify(ofJob)}`).toHaveLength(1);
    for (let index = 1; index < ofJob.length; index++) {
      expect(ofJob[index].from, `${id} ran on two hosts at once: ${JSON.stringify(ofJob)}`).toBeGreaterThanOrEqual(ofJob[index - 1].to);
    }
  }
  // The killed host's job was taken over by another host, as a counted second attempt resuming from a checkpoint.
  await followed;
  const takenOver = finals.find((job) => job.id === victimJob);
  expect(takenOver).toMatchObject({ attempt: 2, attempts_used: 2 });
  expect(runs.find((run) => run.job === victimJob && run.outcome === "succeeded")!.host).not.toBe(victim!.name);
  expect(resumedFrom).toBeGreaterThanOrEqual(1);
  const created = (await api.get(`/v1/trainings/${victimJob}`)).created_at;
  console.log(`FAULT ${JSON.stringify({ mode: "queue", scenario: "SIGKILL in training (3 hosts)", status: takenOver.status, attempt: takenOver.attempt, attempts_used: takenOver.attempts_used, resumed_from_step: resumedFrom, seconds: Math.round((takenOver.updated_at - created) / 1000) })}`);

  // Each job's ledger holds exactly one reserve of its price and one settle, nothing else.
  const usage = await api.get("/v1/usage?limit=100");
  for (const id of ids) {
    const entries = usage.ledger.items.filter((entry: { job_id: string | null }) => entry.job_id === id);
    expect(entries.map((entry: { type: string; amount: number }) => `${entry.type}:${entry.amount}`).sort(), id).toEqual([`reserve:${-prices.get(id)!}`, "settle:0"]);
  }
  const total = [...prices.values()].reduce((sum, price) => sum + price, 0);
  expect(total).toBeGreaterThan(0);
  expect(usage.balance).toBe(before.balance - total);
  expect(usage.reserved).toBe(0);

  // The queue saw every message settled: acked (claimed, or dropped as stale), none left, none dead-lettered.
  const state = await (await fetch(`${queues.origin}/__state`)).json();
  expect(state.dead_lettered).toEqual([]);
  expect(state.queued).toEqual([]);
  expect(state.published.length).toBeGreaterThanOrEqual(JOBS);
}, 720_000);
