import { describe, expect, it } from "vitest";
import { createAccount, jsonInit, type TestAccount } from "../../test/helpers/api.js";
import { fakeGpuReceived, fireTimer, jobStub, readySubject, scriptFakeGpu, sendEvent, timersOf, uploadArtifact, waitFor, waitForDispatches } from "../../test/helpers/jobs.js";

/** The job's first log entry of `type`, once it is there. */
async function waitForLog(jobId: string, type: string) {
  await expect.poll(async () => (await jobStub(jobId).history()).some((entry) => entry.type === type), { timeout: 8000 }).toBe(true);
  return (await jobStub(jobId).history()).find((entry) => entry.type === type)!;
}

async function startTraining(account: TestAccount, identifier?: string): Promise<string> {
  const subject = await readySubject(account, { identifier });
  const response = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "container", params: { steps: 100 } }));
  expect(response.status).toBe(202);
  return (await response.json<{ id: string }>()).id;
}

function uniqueIdentifier(): string {
  return `zq${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}

describe("container backend (signed push to a local fake GPU intake)", () => {
  it("dispatches a signed, schema-valid job message and arms the heartbeat", async () => {
    const account = await createAccount();
    const id = await startTraining(account);
    const job = await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "dispatched");
    expect(job.attempt).toBe(1);
    const received = await fakeGpuReceived(id);
    expect(received.rejected_signatures).toBe(0);
    expect(received.jobs).toHaveLength(1);
    expect(received.jobs[0]).toMatchObject({ kind: "train", attempt: 1, callback_url: `http://dbe.test/internal/jobs/${id}/events` });
    const timers = await timersOf(id);
    expect(Object.keys(timers)).toEqual(["heartbeat"]);
    expect(timers.heartbeat - Date.now()).toBeGreaterThan(590_000);
  });

  it("retries a busy backend by alarm with backoff until it accepts", async () => {
    const account = await createAccount();
    const identifier = uniqueIdentifier();
    await scriptFakeGpu(identifier, [503, 503]);
    const id = await startTraining(account, identifier);
    await waitFor(account, `/v1/trainings/${id}`, () => true);
    for (let busy = 1; busy <= 2; busy++) {
      // Wait for the busy answer to be recorded as a dispatch retry, then let its time come.
      await waitForDispatches(id, busy);
      const deadline = Date.now() + 5000;
      while (!(await timersOf(id)).dispatch && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const timers = await timersOf(id);
      // Retry-After: 1 from the fake, and the exponential backoff (1 s, then 2 s), whichever is longer.
      expect(timers.dispatch - Date.now()).toBeGreaterThan(busy === 1 ? 500 : 1500);
      await fireTimer(id, "dispatch");
    }
    const job = await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "dispatched");
    expect(job.attempt).toBe(1);
    expect((await fakeGpuReceived(id)).jobs).toHaveLength(3);
  });

  it("tells an unreachable host (a frozen one that never answers) from a busy one, and retries it without waiting out the request", async () => {
    const account = await createAccount();
    const identifier = uniqueIdentifier();
    await scriptFakeGpu(identifier, [0]);
    const id = await startTraining(account, identifier);
    await waitForDispatches(id, 1);
    const log = await waitForLog(id, "dispatch_unreachable");
    expect(JSON.parse(log.body)).toMatchObject({ outcome: "unreachable", reason: expect.stringMatching(/Timeout|abort/i) });
    const job = await (await account.request(`/v1/trainings/${id}`)).json<{ status: string; attempt: number }>();
    expect(job).toMatchObject({ status: "queued", attempt: 1 });
    const timers = await timersOf(id);
    expect(Object.keys(timers)).toEqual(["dispatch"]);
    expect(timers.dispatch - Date.now()).toBeLessThanOrEqual(1000);
    await fireTimer(id, "dispatch");
    const dispatched = await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "dispatched");
    expect(dispatched.attempt).toBe(1);
  });

  it("fails the job when the backend refuses the message", async () => {
    const account = await createAccount();
    const identifier = uniqueIdentifier();
    await scriptFakeGpu(identifier, [422]);
    const id = await startTraining(account, identifier);
    const job = await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "failed");
    expect(job.error).toMatchObject({ code: "backend_rejected" });
    expect(job.error!.message).toContain("422");
  });

  it("re-dispatches on heartbeat silence with attempt+1 and the latest checkpoint, then fails after MAX_ATTEMPTS", async () => {
    const account = await createAccount();
    const id = await startTraining(account);
    await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "dispatched");
    expect((await sendEvent(id, { attempt: 1, seq: 0, type: "started", backend: "container", device: "H100" })).status).toBe(200);
    await uploadArtifact(id, 1, "checkpoints/step-40.safetensors", "checkpoint");
    const checkpoint = await sendEvent(id, {
      attempt: 1,
      seq: 1,
      type: "artifact",
      name: "checkpoints/step-40.safetensors",
      format: "checkpoint",
      sha256: "e".repeat(64),
      size: 10,
      content_type: "application/octet-stream",
      meta: { step: 40 },
    });
    expect(checkpoint.status).toBe(200);

    await fireTimer(id, "heartbeat");
    const second = await waitFor(account, `/v1/trainings/${id}`, (training) => training.attempt === 2 && training.status === "dispatched");
    expect(second.progress.step).toBe(0);
    const received = await waitForDispatches(id, 2);
    expect(received.jobs.map((job) => job.attempt)).toEqual([1, 2]);
    expect(received.jobs[1].resume).toMatchObject({ step: 40 });
    // The cancel to the silent host goes out in the background; the re-dispatch did not wait for it.
    await expect.poll(async () => (await fakeGpuReceived(id)).cancels).toEqual([{ job_id: id, attempt: 1 }]);

    // The silent attempt 1 is now stale: its late events are refused so its worker stops.
    const late = await sendEvent(id, { attempt: 1, seq: 2, type: "progress", phase: "training", step: 50, total_steps: 100 });
    expect(late.status).toBe(409);
    expect((await late.json<{ error: { code: string } }>()).error.code).toBe("stale_attempt");
    const lateAgain = await sendEvent(id, { attempt: 1, seq: 2, type: "progress", phase: "training", step: 50, total_steps: 100 });
    expect(lateAgain.status).toBe(409);

    await fireTimer(id, "heartbeat");
    await waitForDispatches(id, 3);
    await waitFor(account, `/v1/trainings/${id}`, (training) => training.attempt === 3 && training.status === "dispatched");
    await fireTimer(id, "heartbeat");
    const failed = await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "failed");
    expect(failed.attempt).toBe(3);
    expect(failed.error).toMatchObject({ code: "heartbeat_timeout", retryable: true });
    expect(failed.error!.message).toContain("That was attempt 3 of 3");
    // Nothing left to run once the listing has taken the final status (pushed just after the record is saved).
    await expect.poll(() => timersOf(id)).toEqual({});

    // The log keeps everything, the refused late event included, in arrival order.
    const log = await jobStub(id).history();
    expect(log.filter((entry) => entry.source === "backend").map((entry) => [entry.attempt, entry.seq, entry.type, entry.outcome])).toEqual([
      [1, 0, "started", "applied"],
      [1, 1, "artifact", "applied"],
      [1, 2, "progress", "stale_attempt"],
    ]);
    expect(log.filter((entry) => entry.type === "redispatch").map((entry) => entry.attempt)).toEqual([2, 3]);
  });

  it("re-dispatches a retryable failure event, and fails on a permanent one", async () => {
    const account = await createAccount();
    const id = await startTraining(account);
    await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "dispatched");
    await sendEvent(id, { attempt: 1, seq: 0, type: "failed", code: "out_of_memory", message: "OOM", retryable: true });
    await waitFor(account, `/v1/trainings/${id}`, (training) => training.attempt === 2 && training.status === "dispatched");
    await sendEvent(id, { attempt: 2, seq: 0, type: "failed", code: "input_checksum_mismatch", message: "bad photo", retryable: false });
    const failed = await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "failed");
    expect(failed.error).toEqual({ code: "input_checksum_mismatch", message: "bad photo", retryable: false });
  });

  it("asks the backend to cancel when the client cancels", async () => {
    const account = await createAccount();
    const id = await startTraining(account);
    await waitFor(account, `/v1/trainings/${id}`, (training) => training.status === "dispatched");
    const canceled = await account.request(`/v1/trainings/${id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(202);
    expect((await canceled.json<{ status: string }>()).status).toBe("canceled");
    await expect.poll(async () => (await fakeGpuReceived(id)).cancels).toEqual([{ job_id: id, attempt: 1 }]);
    // Nothing left to run once the listing has taken the final status (pushed just after the record is saved).
    await expect.poll(() => timersOf(id)).toEqual({});
  });
});
