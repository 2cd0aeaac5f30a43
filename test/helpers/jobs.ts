/** Test helpers for jobs: a finalized subject, waiting on a job, and playing the GPU backend's side. */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { signedHeaders, type BackendEvent } from "../../shared/index.js";
import type { TimerName } from "../../functions/jobs/timers.js";
import { BASE, jsonInit, testEnv, type TestAccount } from "./api.js";
import { makePng } from "./images.js";
import { SELF } from "cloudflare:test";

export async function readySubject(
  account: TestAccount,
  options: { classNoun?: string; identifier?: string } = {},
): Promise<{ id: string; identifier: string }> {
  const request = { name: "Rex", class_noun: options.classNoun ?? "dog", ...(options.identifier ? { identifier: options.identifier } : {}) };
  const created = await account.request("/v1/subjects", jsonInit("POST", request));
  expect(created.status).toBe(201);
  const subject = await created.json<{ id: string; identifier: string }>();
  for (const shade of [10, 20, 30]) {
    const put = await account.request(`/v1/subjects/${subject.id}/images/photo-${shade}.png`, {
      method: "PUT",
      headers: { "content-type": "image/png" },
      body: makePng(512, 512, shade),
    });
    expect(put.status).toBeLessThan(300);
  }
  expect((await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" })).status).toBe(200);
  return subject;
}

export type JobJson = {
  id: string;
  status: string;
  attempt: number;
  progress: { phase: string | null; step: number; total_steps: number; loss: number | null; eta_s: number | null };
  artifacts: { name: string; format: string; size: number; sha256: string; download_url?: string; meta?: Record<string, unknown> }[];
  images: { url: string; width: number; height: number; seed: number }[];
  error?: { code: string; message: string; retryable: boolean };
  params: Record<string, unknown>;
};

/** Polls `path` until `done(job)` holds, as a client would. */
export async function waitFor(account: TestAccount, path: string, done: (job: JobJson) => boolean, timeoutMs = 8000) {
  const started = Date.now();
  for (;;) {
    const job = await (await account.request(path)).json<JobJson>();
    if (done(job)) return job;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting on ${path}: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function jobStub(jobId: string) {
  return env.JOBS.get(env.JOBS.idFromName(jobId));
}

/**
 * Makes one of a job's timers due now and runs the alarm, standing in for the
 * passage of time. Waits for the timer to exist first: a dispatch arms the
 * heartbeat only once the backend's answer is in.
 */
export async function fireTimer(jobId: string, timer: TimerName, timeoutMs = 5000): Promise<void> {
  const stub = jobStub(jobId);
  const started = Date.now();
  const expire = () =>
    runInDurableObject(stub, (_, state) => {
      const rows = state.storage.sql.exec("UPDATE timers SET at = 0 WHERE name = ? RETURNING name", timer).toArray();
      return rows.length > 0;
    });
  while (!(await expire())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timer ${timer} of ${jobId} was never set`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await runInDurableObject(stub, (_, state) => state.storage.setAlarm(Date.now()));
  await runDurableObjectAlarm(stub);
}

export async function timersOf(jobId: string): Promise<Record<string, number>> {
  return runInDurableObject(jobStub(jobId), (_, state) =>
    Object.fromEntries(state.storage.sql.exec<{ name: string; at: number }>("SELECT name, at FROM timers").toArray().map((row) => [row.name, row.at])),
  );
}

/** POSTs a body to an internal route signed with the deployment's backend secret (or `secret`). */
export async function signedPost(path: string, body: unknown, options: { secret?: string; nowMs?: number } = {}) {
  const raw = JSON.stringify(body);
  const headers = await signedHeaders(options.secret ?? testEnv.BACKEND_SIGNING_SECRET!, raw, options.nowMs);
  return SELF.fetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: raw });
}

/** A backend event without the fields `sendEvent` fills in, kept per event type. */
type EventDraft = BackendEvent extends infer E ? (E extends BackendEvent ? Omit<E, "job_id" | "ts"> & { ts?: number } : never) : never;

export function sendEvent(jobId: string, event: EventDraft) {
  return signedPost(`/internal/jobs/${jobId}/events`, { job_id: jobId, ts: Date.now(), ...event });
}

/** Uploads a file the way a GPU backend does: ask for a slot, then PUT to it. */
export async function uploadArtifact(jobId: string, attempt: number, name: string, body: string, contentType = "application/octet-stream") {
  const request = { job_id: jobId, attempt, name, content_type: contentType };
  const slotResponse = await signedPost(`/internal/jobs/${jobId}/events/uploads`, request);
  expect(slotResponse.status).toBe(200);
  const slot = await slotResponse.json<{ url: string; headers: Record<string, string> }>();
  const put = await SELF.fetch(slot.url, { method: "PUT", headers: { ...slot.headers, "content-length": String(body.length) }, body });
  expect(put.status).toBe(200);
}

export async function fakeGpuReceived(jobId: string) {
  const response = await fetch(`${testEnv.GPU_BACKEND_URL}/__received/${jobId}`);
  return response.json<{ jobs: { attempt: number; resume?: { step: number }; class_images?: { url?: string } }[]; cancels: { attempt: number }[]; rejected_signatures: number }>();
}

/** The next dispatches of a job (by id, or by its subject's identifier) answer these statuses. */
/** Waits until the fake GPU intake has received `count` job messages for `jobId`. */
export async function waitForDispatches(jobId: string, count: number, timeoutMs = 5000) {
  const started = Date.now();
  for (;;) {
    const received = await fakeGpuReceived(jobId);
    if (received.jobs.length >= count) return received;
    if (Date.now() - started > timeoutMs) throw new Error(`${jobId}: ${received.jobs.length} of ${count} dispatches arrived`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function scriptFakeGpu(jobIdOrIdentifier: string, statuses: number[]) {
  await fetch(`${testEnv.GPU_BACKEND_URL}/__script/${jobIdOrIdentifier}`, jsonInit("POST", { statuses }));
}
