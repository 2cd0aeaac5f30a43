/**
 * The Replicate backend end to end: the Worker, its job objects and R2 in workerd;
 * the real `replicate` client talking to the local fake of Replicate's API
 * (test/fakes/replicate-api.ts). The test plays Replicate's part in time: it moves
 * each training or prediction on and decides how its signed webhooks arrive.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, createAccount, expectError, jsonInit, type TestAccount } from "../../../test/helpers/api";
import { makeJpeg, makePng } from "../../../test/helpers/images";

const bindings = env as typeof env & { REPLICATE_API_BASE_URL: string; BUCKET: R2Bucket };
const FAKE = bindings.REPLICATE_API_BASE_URL.replace(/\/v1$/, "");

interface FakeJob {
  id: string;
  status: string;
  version: string;
  destination?: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhook_events_filter?: string[];
  output: unknown;
}
interface SignedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
}
interface FakeState {
  requests: { method: string; path: string; body: unknown }[];
  models: { owner: string; name: string; visibility: string; hardware: string }[];
  jobs: FakeJob[];
}

async function fakeState(): Promise<FakeState> {
  return (await fetch(`${FAKE}/_fake/state`)).json();
}

async function advance(replicateId: string, step: { status?: string; logs?: string; error?: string; timestamp?: number }) {
  const response = await fetch(`${FAKE}/_fake/jobs/${replicateId}/advance`, jsonInit("POST", step));
  expect(response.status).toBe(200);
  return (await response.json<{ webhook: SignedWebhook | null }>()).webhook!;
}

interface InjectedFailure {
  method: string;
  pathPrefix: string;
  status: number;
  times: number;
  retryAfterS?: number;
  detail?: string;
}

async function injectFailure(failure: InjectedFailure) {
  expect((await fetch(`${FAKE}/_fake/fail`, jsonInit("POST", failure))).status).toBe(200);
}

function deliver(webhook: SignedWebhook, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(webhook.url, { method: "POST", headers: { ...webhook.headers, ...headers }, body: webhook.body });
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 600)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface TrainingView {
  id: string;
  status: string;
  backend: string;
  progress: { phase: string | null; step: number; total_steps: number; loss: number | null };
  error: { code: string; message: string; retryable: boolean } | null;
  artifacts: { name: string; format: string; sha256: string; size: number; url?: string; meta?: Record<string, unknown> }[];
}

const getTraining = async (account: TestAccount, id: string) => (await account.request(`/v1/trainings/${id}`)).json<TrainingView>();

const jobStub = (jobId: string) => env.JOBS.get(env.JOBS.idFromName(jobId));

/** The poll timer is an hour out in tests; bring it to now, as the passing hour would. */
async function pollNow(jobId: string): Promise<void> {
  await runInDurableObject(jobStub(jobId), async (_instance, state) => {
    state.storage.sql.exec("UPDATE timers SET at = ? WHERE name = 'poll'", Date.now());
    await state.storage.setAlarm(Date.now());
  });
}

async function pollTimer(jobId: string): Promise<number | null> {
  return runInDurableObject(jobStub(jobId), (_instance, state) => {
    const rows = state.storage.sql.exec<{ at: number }>("SELECT at FROM timers WHERE name = 'poll'").toArray();
    return rows[0]?.at ?? null;
  });
}

const PHOTOS = { "a.jpg": makeJpeg(640, 640, 1), "b.png": makePng(512, 512, 2), "c.jpg": makeJpeg(600, 700, 3) };

async function readySubject(account: TestAccount): Promise<{ id: string; identifier: string }> {
  const created = await account.request("/v1/subjects", jsonInit("POST", { name: "Rex", class_noun: "dog" }));
  expect(created.status).toBe(201);
  const subject = await created.json<{ id: string; identifier: string }>();
  for (const [name, bytes] of Object.entries(PHOTOS)) {
    const put = await account.request(`/v1/subjects/${subject.id}/images/${name}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(put.status).toBe(201);
  }
  expect((await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" })).status).toBe(200);
  return subject;
}

/** Starts a Replicate training and waits until Replicate (the fake) has it. */
async function startTraining(account: TestAccount, params: Record<string, unknown> = {}) {
  const subject = await readySubject(account);
  const response = await account.request(
    "/v1/trainings",
    jsonInit("POST", { subject_id: subject.id, backend: "replicate", params: { steps: 100, ...params } }),
  );
  expect(response.status).toBe(202);
  const training = await response.json<TrainingView>();
  const replicate = await eventually(
    async () => (await fakeState()).jobs.find((job) => job.webhook?.includes(`job=${training.id}`)),
    (job) => job !== undefined,
    "the training to reach Replicate",
  );
  await eventually(() => getTraining(account, training.id), (view) => view.status === "dispatched", "dispatched");
  return { subject, training, replicate: replicate! };
}

/** Minimal zip reader (central directory → stored entries), to check the archive the trainer gets. */
function readZip(bytes: Uint8Array): Record<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 22;
  expect(view.getUint32(end, true)).toBe(0x06054b50);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < count; i++) {
    expect(view.getUint32(at, true)).toBe(0x02014b50);
    expect(view.getUint16(at + 10, true)).toBe(0);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const offset = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const dataAt = offset + 30 + view.getUint16(offset + 26, true) + view.getUint16(offset + 28, true);
    files[name] = bytes.slice(dataAt, dataAt + size);
    at += 46 + nameLength;
  }
  return files;
}

async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("training on Replicate", { timeout: 30_000 }, () => {
  it("zips the photos, creates the destination, trains, and copies the weights into R2", async () => {
    const account = await createAccount();
    const { subject, training, replicate } = await startTraining(account, { prior_preservation: { enabled: false }, seed: 5 });

    const state = await fakeState();
    expect(state.models).toContainEqual(
      expect.objectContaining({ owner: "dbe-test", name: `dreambooth-${account.accountId.toLowerCase()}`, visibility: "private" }),
    );
    expect(replicate.version).toBe("39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b");
    expect(replicate.destination).toBe(`dbe-test/dreambooth-${account.accountId.toLowerCase()}`);
    expect(replicate.webhook_events_filter).toEqual(["start", "output", "logs", "completed"]);
    expect(replicate.input).toMatchObject({ token_string: subject.identifier, max_train_steps: 100, seed: 5, is_lora: true });
    const zipResponse = await SELF.fetch(String(replicate.input.input_images));
    expect(zipResponse.status).toBe(200);
    const zipped = readZip(new Uint8Array(await zipResponse.arrayBuffer()));
    expect(Object.keys(zipped).sort()).toEqual(Object.keys(PHOTOS).sort());
    for (const [name, bytes] of Object.entries(PHOTOS)) expect(await sha256Hex(zipped[name]!)).toBe(await sha256Hex(bytes));

    expect((await deliver(await advance(replicate.id, { status: "processing", logs: "Preprocessing\n" }))).status).toBe(200);
    await eventually(() => getTraining(account, training.id), (view) => view.status === "preparing", "preparing");
    const bar = "# PTI :step: 40, epoch: 1:  40%|████      | 40/100 [00:10<00:15,  4.00it/s, loss=0.125]\n";
    expect((await deliver(await advance(replicate.id, { logs: bar }))).status).toBe(200);
    const midway = await eventually(() => getTraining(account, training.id), (view) => view.progress.step === 40, "step 40");
    expect(midway).toMatchObject({ status: "training", progress: { phase: "training", step: 40, total_steps: 100, loss: 0.125 } });

    const completed = await advance(replicate.id, { status: "succeeded" });
    expect((await deliver(completed)).status).toBe(200);
    const done = await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "succeeded");
    const weights = done.artifacts.find((artifact) => artifact.name === "artifacts/trained_model.tar")!;
    expect(weights).toMatchObject({ format: "cog-sdxl-lora" });
    const output = (await fakeState()).jobs.find((job) => job.id === replicate.id)!.output as { weights: string; version: string };
    expect(weights.meta).toEqual({ replicate_version: output.version });
    const original = await (await fetch(output.weights)).arrayBuffer();
    const stored = await bindings.BUCKET.get(`accounts/${account.accountId}/trainings/${training.id}/artifacts/trained_model.tar`);
    expect(stored).not.toBeNull();
    const storedBytes = await stored!.arrayBuffer();
    expect(storedBytes.byteLength).toBe(original.byteLength);
    expect(await sha256Hex(storedBytes)).toBe(await sha256Hex(original));
    expect(weights.sha256).toBe(await sha256Hex(original));
    expect(JSON.stringify(done.artifacts)).not.toContain(FAKE);
  });

  it("ends in the same state whatever order, and however often, the webhooks arrive", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    const started = await advance(replicate.id, { status: "processing" });
    const midway = await advance(replicate.id, { logs: "60%|██████    | 60/100 [00:10<00:06]\n" });
    const completed = await advance(replicate.id, { status: "succeeded" });

    // The end first, then the start and the middle, then everything again.
    for (const webhook of [completed, started, midway, completed, midway, started]) expect((await deliver(webhook)).status).toBe(200);
    const done = await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "succeeded");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const settled = await getTraining(account, training.id);
    expect(settled.status).toBe("succeeded");
    expect(settled.artifacts).toEqual(done.artifacts);
    expect(settled.artifacts.filter((artifact) => artifact.name === "artifacts/trained_model.tar")).toHaveLength(1);
    expect(settled.progress).toMatchObject({ step: 100, total_steps: 100 });
  });

  it("refuses replayed, stale, mis-signed and unsigned deliveries with 401", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    const stale = await advance(replicate.id, { status: "succeeded", timestamp: Math.floor(Date.now() / 1000) - 301 });
    await expectError(await deliver(stale), 401, "invalid_signature");

    const resigned = await fetch(`${FAKE}/_fake/jobs/${replicate.id}/webhook`, jsonInit("POST", { event: "completed" }));
    const fresh = (await resigned.json<{ webhook: SignedWebhook }>()).webhook;
    const forged = `v1,${btoa("x".repeat(32))}`;
    await expectError(await deliver(fresh, { "webhook-signature": forged }), 401, "invalid_signature");
    await expectError(await deliver({ ...fresh, body: fresh.body.replace('"succeeded"', '"failed"') }), 401, "invalid_signature");
    await expectError(await deliver(fresh, { "webhook-id": "msg_other" }), 401, "invalid_signature");
    await expectError(await SELF.fetch(fresh.url, { method: "POST", body: fresh.body }), 401, "invalid_signature");
    expect((await getTraining(account, training.id)).status).toBe("dispatched");

    const first = await deliver(fresh);
    expect(await first.json()).toEqual({ received: true, duplicate: false });
    expect(await (await deliver(fresh)).json()).toEqual({ received: true, duplicate: true });
    await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "succeeded");
  });

  it("completes by polling when every webhook is lost", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    await advance(replicate.id, { status: "processing" });
    await advance(replicate.id, { status: "succeeded" });
    await pollNow(training.id);
    const done = await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "succeeded by polling");
    expect(done.artifacts.map((artifact) => artifact.name)).toContain("artifacts/trained_model.tar");
    const polled = (await fakeState()).requests.filter((request) => request.method === "GET" && request.path === `/v1/trainings/${replicate.id}`);
    expect(polled.length).toBeGreaterThan(0);
  });

  it("backs its polls off while Replicate's API fails, then completes", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    await advance(replicate.id, { status: "succeeded" });
    // Six 502s outlast the client's own five retries of a GET.
    await injectFailure({ method: "GET", pathPrefix: `/v1/trainings/${replicate.id}`, status: 502, times: 6 });
    const firstPollAt = Date.now();
    await pollNow(training.id);
    const interval = 3600_000;
    const nextPoll = await eventually(() => pollTimer(training.id), (at) => at !== null && at >= firstPollAt + 2 * interval, "backoff");
    expect(nextPoll!).toBeLessThan(firstPollAt + 3 * interval);
    expect((await getTraining(account, training.id)).status).toBe("dispatched");
    await pollNow(training.id);
    await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "succeeded after the outage");
  });

  it("counts a poll that finds the job still queued as a sign of life", async () => {
    const account = await createAccount();
    const { training } = await startTraining(account, { prior_preservation: { enabled: false } });
    const stub = jobStub(training.id);
    const heartbeatAt = () =>
      runInDurableObject(stub, (_instance, state) =>
        state.storage.sql.exec<{ at: number }>("SELECT at FROM timers WHERE name = 'heartbeat'").one().at,
      );
    const before = await heartbeatAt();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pollNow(training.id);
    const view = await eventually(() => getTraining(account, training.id), (v) => v.status === "preparing", "preparing while queued");
    expect(view.progress).toMatchObject({ phase: "preparing", step: 0 });
    expect(await heartbeatAt()).toBeGreaterThan(before);
  });

  it("fails with the trainer's reason", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    await deliver(await advance(replicate.id, { status: "processing" }));
    await deliver(await advance(replicate.id, { status: "failed", error: "CUDA out of memory. Tried to allocate 2.00 GiB" }));
    const failed = await eventually(() => getTraining(account, training.id), (view) => view.status === "failed", "failed");
    expect(failed.error).toEqual({ code: "replicate_failed", message: "CUDA out of memory. Tried to allocate 2.00 GiB", retryable: false });
  });

  it("cancels on Replicate too", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    const response = await account.request(`/v1/trainings/${training.id}/cancel`, { method: "POST" });
    expect(response.status).toBe(202);
    expect((await response.json<TrainingView>()).status).toBe("canceled");
    const remote = (await fakeState()).jobs.find((job) => job.id === replicate.id)!;
    expect(remote.status).toBe("canceled");
    const cancelCall = { method: "POST", path: `/v1/trainings/${replicate.id}/cancel` };
    expect((await fakeState()).requests).toContainEqual(expect.objectContaining(cancelCall));
  });
});

describe("Replicate errors", { timeout: 30_000 }, () => {
  const trainerPath = "/v1/models/stability-ai/sdxl/versions/";

  it("rides out a 429 burst: the client retries at once, then the job object backs off by retry_after", async () => {
    const account = await createAccount();
    const before = (await fakeState()).requests.length;
    // Six 429s outlast the client's own five retries, so the dispatch comes back busy once.
    const detail = "Request was throttled. Expected available in 1 second.";
    await injectFailure({ method: "POST", pathPrefix: trainerPath, status: 429, times: 6, retryAfterS: 1, detail });
    const { replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    const posts = (await fakeState()).requests
      .slice(before)
      .filter((request) => request.method === "POST" && request.path.startsWith(trainerPath));
    expect(posts).toHaveLength(7);
    expect(replicate.status).toBe("starting");
  });

  it("fails the job with Replicate's reason on a permanent refusal", async () => {
    const account = await createAccount();
    const detail = "You have reached the free time limit. Set up billing.";
    await injectFailure({ method: "POST", pathPrefix: trainerPath, status: 402, times: 1, detail });
    const subject = await readySubject(account);
    const body = { subject_id: subject.id, backend: "replicate", params: { prior_preservation: { enabled: false } } };
    const response = await account.request("/v1/trainings", jsonInit("POST", body));
    const training = await response.json<TrainingView>();
    const failed = await eventually(() => getTraining(account, training.id), (view) => view.status === "failed", "failed");
    expect(failed.error!.code).toBe("replicate_payment_required");
    expect(failed.error!.message).toContain("Set up billing");
  });

  it("rejects parameters the trainer cannot honour with 400 at creation", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const response = await account.request(
      "/v1/trainings",
      jsonInit("POST", {
        subject_id: subject.id,
        backend: "replicate",
        params: { lr_schedule: "cosine", prior_preservation: { weight: 1 } },
      }),
    );
    const error = await expectError(response, 400, "invalid_params");
    expect((error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path).sort()).toEqual([
      "params.lr_schedule",
      "params.prior_preservation",
    ]);
  });

  it("asks nothing of Replicate for a test key, whose jobs run on the fake backend", async () => {
    const account = await createAccount("test");
    const subject = await readySubject(account);
    const body = { subject_id: subject.id, backend: "replicate", params: { lr_schedule: "cosine", steps: 4 } };
    const response = await account.request("/v1/trainings", jsonInit("POST", body));
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ backend: "fake", params: { lr_schedule: "cosine" } });
  });
});

describe("generation on Replicate", { timeout: 30_000 }, () => {
  it("renders with the R2 copy of the weights and copies the images into R2", async () => {
    const account = await createAccount();
    const { training, replicate } = await startTraining(account, { prior_preservation: { enabled: false } });
    await deliver(await advance(replicate.id, { status: "succeeded" }));
    await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "trained");

    const response = await account.request(
      "/v1/generations",
      jsonInit("POST", { training_id: training.id, prompt: "a {subject} on the moon", num_images: 2, width: 64, height: 64, seed: 3 }),
    );
    expect(response.status).toBe(202);
    const generation = await response.json<{ id: string; status: string }>();
    const prediction = await eventually(
      async () => (await fakeState()).jobs.find((job) => job.webhook?.includes(`job=${generation.id}`)),
      (job) => job !== undefined,
      "the prediction",
    );
    expect(prediction!.input).toMatchObject({ num_outputs: 2, seed: 3, width: 64, height: 64, scheduler: "DPMSolverMultistep" });
    expect(String(prediction!.input.prompt)).toMatch(/on the moon$/);
    const weights = await SELF.fetch(String(prediction!.input.replicate_weights));
    expect(weights.status).toBe(200);
    expect(String(prediction!.input.replicate_weights).startsWith(BASE)).toBe(true);

    await deliver(await advance(prediction!.id, { status: "processing" }));
    await deliver(await advance(prediction!.id, { status: "succeeded" }));
    const done = await eventually(
      async () => (await account.request(`/v1/generations/${generation.id}`)).json<{ status: string; images: { url: string }[] }>(),
      (view) => view.status === "succeeded",
      "generated",
    );
    expect(done.images).toHaveLength(2);
    const tooMany = await account.request("/v1/generations", jsonInit("POST", { training_id: training.id, prompt: "x", num_images: 5 }));
    expect((await expectError(tooMany, 400, "invalid_params")).message).toContain("num_images");
    const image = await account.request(new URL(done.images[1]!.url).pathname);
    expect(image.status).toBe(200);
    const outputs = (await fakeState()).jobs.find((job) => job.id === prediction!.id)!.output as string[];
    expect(outputs).toHaveLength(2);
    const expected = await (await fetch(outputs[1]!)).arrayBuffer();
    expect(await sha256Hex(await image.arrayBuffer())).toBe(await sha256Hex(expected));
  });

  it("refuses to render another backend's weights on Replicate (409)", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const created = await account.request(
      "/v1/trainings",
      jsonInit("POST", { subject_id: subject.id, backend: "fake", params: { steps: 10 } }),
    );
    const training = await created.json<TrainingView>();
    await eventually(() => getTraining(account, training.id), (view) => view.status === "succeeded", "fake training", 20_000);
    const body = { training_id: training.id, backend: "replicate", prompt: "x" };
    const response = await account.request("/v1/generations", jsonInit("POST", body));
    expect((await expectError(response, 409, "weights_incompatible")).message).toContain("diffusers-lora");
  });
});
