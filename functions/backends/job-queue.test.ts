import { describe, expect, it } from "vitest";
import { JobMessageSchema, type JobMessage } from "../../shared/index.js";
import { createAccount, jsonInit, testEnv } from "../../test/helpers/api.js";
import { readySubject, sendEvent, signedPost, waitFor } from "../../test/helpers/jobs.js";
import { queueBackend } from "./job-queue.js";

const origin = (testEnv as unknown as { TEST_QUEUES_API_ORIGIN: string }).TEST_QUEUES_API_ORIGIN;
const api = { base: `${origin}/client/v4`, accountId: "acc-test", queueId: "jobs-test", token: "test-queues-token" };

const message = (jobId: string): JobMessage => ({
  job_id: jobId,
  attempt: 2,
  kind: "generate",
  base_model: "sd15",
  callback_url: `https://dbe.test/internal/jobs/${jobId}/events`,
  deadline: Date.now() + 60_000,
  params: { prompt: "a photo", num_images: 1, steps: 1, guidance_scale: 1, scheduler: "ddim", seed: 1, width: 64, height: 64, lora_scale: 1 },
});

describe("queue dispatch (the Queues REST API's local stand-in)", () => {
  it("sends the job message as text, which a pull consumer reads as the job", async () => {
    const result = await queueBackend({ api, requestTimeoutMs: 2000 }).dispatch(message("gen_queue_1"));
    expect(result).toEqual({ outcome: "accepted", queued: true });
    const state = await (await fetch(`${origin}/__state`)).json<{ queued: { body: string; contentType: string }[] }>();
    const sent = state.queued.map((queued) => JSON.parse(queued.body)).find((body) => body.job_id === "gen_queue_1");
    expect(JobMessageSchema.parse(sent)).toMatchObject({ job_id: "gen_queue_1", attempt: 2 });
    expect(state.queued.find((queued) => queued.body.includes("gen_queue_1"))?.contentType).toBe("text");
  });

  it("an unreachable or refusing queue API is 'unreachable', so the job object retries it within that budget", async () => {
    const wrongToken = await queueBackend({ api: { ...api, token: "nope" }, requestTimeoutMs: 2000 }).dispatch(message("gen_queue_2"));
    expect(wrongToken).toMatchObject({ outcome: "unreachable", reason: expect.stringContaining("Authentication error") });
    const down = await queueBackend({ api: { ...api, base: "http://127.0.0.1:9/client/v4" }, requestTimeoutMs: 2000 }).dispatch(message("gen_queue_3"));
    expect(down.outcome).toBe("unreachable");
  });
});

describe("POST /internal/jobs/:id/events/claim", () => {
  it("gives the current attempt to the first host, again to it, and answers 409 to any other host and after the end", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const { id } = await (await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "container" }))).json<{ id: string }>();
    await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "dispatched");
    const claim = (host: string, attempt = 1) => signedPost(`/internal/jobs/${id}/events/claim`, { job_id: id, attempt, host });
    expect((await claim("host-a")).status).toBe(200);
    expect((await claim("host-a")).status).toBe(200);
    const elsewhere = await claim("host-b");
    expect(elsewhere.status).toBe(409);
    expect((await elsewhere.json<{ error: { code: string } }>()).error.code).toBe("claimed_elsewhere");
    expect((await claim("host-b", 2)).status).toBe(409);
    expect((await sendEvent(id, { attempt: 1, seq: 0, type: "succeeded" })).status).toBe(200);
    const finished = await claim("host-a");
    expect((await finished.json<{ error: { code: string } }>()).error.code).toBe("terminal");
    expect((await signedPost(`/internal/jobs/${id}/events/claim`, { job_id: id, attempt: 1, host: "x" }, { secret: "wrong-secret-000000" })).status).toBe(401);
  });
});
