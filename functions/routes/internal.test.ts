import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, createAccount, expectError, jsonInit, type TestAccount } from "../../test/helpers/api.js";
import { readySubject, sendEvent, signedPost, uploadArtifact, waitFor } from "../../test/helpers/jobs.js";

async function dispatchedTraining(account: TestAccount): Promise<string> {
  const subject = await readySubject(account);
  const response = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "container" }));
  const { id } = await response.json<{ id: string }>();
  await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "dispatched");
  return id;
}

const started = (id: string, seq = 0) => ({ job_id: id, attempt: 1, seq, ts: Date.now(), type: "started", backend: "container", device: "cpu" });

describe("POST /internal/jobs/:id/events", () => {
  it("rejects missing, wrong and stale signatures with 401 before reading the body", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    const path = `/internal/jobs/${id}/events`;
    const unsigned = await SELF.fetch(`${BASE}${path}`, jsonInit("POST", started(id)));
    expect((await expectError(unsigned, 401, "invalid_signature")).message).toContain("missing");
    expect((await expectError(await signedPost(path, started(id), { secret: "not-the-secret" }), 401)).message).toContain("mismatch");
    const tenMinutesAgo = Date.now() - 600_000;
    expect((await expectError(await signedPost(path, started(id), { nowMs: tenMinutesAgo }), 401)).message).toContain("stale");
    // Garbage from an unsigned caller is still a 401, never a 400 that would describe our schema.
    await expectError(await SELF.fetch(`${BASE}${path}`, { method: "POST", body: "{not json" }), 401);
    const job = await (await account.request(`/v1/trainings/${id}`)).json<{ status: string }>();
    expect(job.status).toBe("dispatched");
  });

  it("applies an event once; a redelivery is acknowledged as a duplicate", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    const progress = { attempt: 1, seq: 1, type: "progress", phase: "training", step: 10, total_steps: 100, loss: 0.25, eta_s: 90 } as const;
    const first = await sendEvent(id, progress);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ result: "applied", status: "training" });
    // Same (attempt, seq), different content: still the same event as far as the log is concerned.
    const again = await sendEvent(id, { ...progress, step: 99 });
    expect(await again.json()).toEqual({ result: "duplicate" });
    const job = await (await account.request(`/v1/trainings/${id}`)).json<{ progress: object }>();
    expect(job.progress).toEqual({ phase: "training", step: 10, total_steps: 100, loss: 0.25, eta_s: 90 });
  });

  it("answers 409 for events after the job ended, 404 for unknown jobs, 400 for invalid events", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    expect((await sendEvent(id, { attempt: 1, seq: 0, type: "succeeded" })).status).toBe(200);
    await expectError(await sendEvent(id, { attempt: 1, seq: 1, type: "progress", phase: "training", step: 1, total_steps: 2 }), 409, "terminal");
    await expectError(await sendEvent("trn_00000000000000000000", { attempt: 1, seq: 0, type: "succeeded" }), 404);
    const invalid = await expectError(await sendEvent(id, { attempt: 1, seq: -1, type: "succeeded" } as never), 400);
    expect(JSON.stringify(invalid.details)).toContain("seq");
    await expectError(await signedPost(`/internal/jobs/${id}/events`, { ...started("trn_other"), seq: 5 }), 400, "job_mismatch");
  });
});

describe("artifact events", () => {
  it("are recorded only once the file is in storage with the announced size", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    const name = "artifacts/pytorch_lora_weights.safetensors";
    const artifact = { attempt: 1, type: "artifact", name, format: "diffusers-lora", sha256: "f".repeat(64), content_type: "application/octet-stream" } as const;
    await expectError(await sendEvent(id, { ...artifact, seq: 0, size: 7 }), 400, "artifact_not_uploaded");
    await uploadArtifact(id, 1, name, "weights");
    await expectError(await sendEvent(id, { ...artifact, seq: 0, size: 8 }), 400, "artifact_size_mismatch");
    expect((await sendEvent(id, { ...artifact, seq: 0, size: 7 })).status).toBe(200);
    const training = await (await account.request(`/v1/trainings/${id}`)).json<{ artifacts: { name: string; size: number }[] }>();
    expect(training.artifacts).toEqual([expect.objectContaining({ name, size: 7 })]);
    expect((await sendEvent(id, { attempt: 1, seq: 1, type: "succeeded" })).status).toBe(200);
    const download = await account.request(`/v1/models/${id}/files/diffusers-lora`);
    expect(await download.text()).toBe("weights");
  });
});

describe("quality report", () => {
  const report = {
    version: 1,
    base_model: "tiny-emoji",
    subject: { identifier: "qxv", class_noun: "dog" },
    subject_fidelity: 0.34,
    prompt_fidelity: 0.25,
    prior_preservation_similarity: 0.3,
    class_recognized: 0.5,
    diversity: 0.57,
    judge: { name: "tiny-emoji judge", note: "stands in for DINO/CLIP" },
    sampling: { scheduler: "ddim", steps: 20, guidance_scale: 4, seeds: [11, 12] },
    prompts: [{ prompt: "a qxv dog on a red background", kind: "recontextualization", images: 2, subject_fidelity: 0.4, prompt_fidelity: 0.5, diversity: 0.6 }],
  };

  async function trainingWithReport(account: TestAccount, body: string): Promise<{ quality: unknown }> {
    const id = await dispatchedTraining(account);
    const name = "reports/quality.json";
    await uploadArtifact(id, 1, name, body, "application/json");
    const event = { attempt: 1, seq: 0, type: "artifact", name, format: "report", sha256: "e".repeat(64), size: body.length, content_type: "application/json" } as const;
    expect((await sendEvent(id, event)).status).toBe(200);
    return (await account.request(`/v1/trainings/${id}`)).json<{ quality: unknown }>();
  }

  it("is returned parsed as `quality` once the backend uploaded it, and null before", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    expect((await (await account.request(`/v1/trainings/${id}`)).json<{ quality: unknown }>()).quality).toBeNull();
    expect((await trainingWithReport(account, JSON.stringify(report))).quality).toEqual(report);
  });

  it("comes with the succeeded event, together with the exported step, so watchers see it without another GET", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    const selected = { selection: "best", step: 400, reason: "highest subject fidelity", candidates: [{ step: 400, subject_fidelity: 0.34, prompt_fidelity: 0.9 }] };
    const before = await (await account.request(`/v1/trainings/${id}`)).json<{ selected_checkpoint: unknown }>();
    expect(before.selected_checkpoint).toBeNull();
    expect((await sendEvent(id, { attempt: 1, seq: 0, type: "succeeded", quality: report, selected_checkpoint: selected } as never)).status).toBe(200);
    const view = await (await account.request(`/v1/trainings/${id}`)).json<{ quality: unknown; selected_checkpoint: unknown }>();
    expect(view).toMatchObject({ quality: report, selected_checkpoint: selected });
    // The live stream's state of a finished job is the same view, quality included.
    const stream = await account.request(`/v1/trainings/${id}/events`);
    const text = await stream.text();
    const state = JSON.parse(/event: state\ndata: (.*)\n/.exec(text)![1]) as { job: { quality: unknown; selected_checkpoint: unknown } };
    expect(state.job).toMatchObject({ quality: report, selected_checkpoint: selected });
  });

  it("reads as null when the uploaded file is not a valid report, never as an error", async () => {
    const account = await createAccount();
    expect((await trainingWithReport(account, "{not json")).quality).toBeNull();
    expect((await trainingWithReport(account, JSON.stringify({ ...report, subject_fidelity: 7 }))).quality).toBeNull();
  });
});

describe("POST /internal/jobs/:id/events/uploads", () => {
  it("hands out a short-lived signed PUT URL under the job's own prefix that accepts the upload", async () => {
    const account = await createAccount();
    const id = await dispatchedTraining(account);
    const request = { job_id: id, attempt: 1, name: "artifacts/pytorch_lora_weights.safetensors", content_type: "application/octet-stream" };
    const response = await signedPost(`/internal/jobs/${id}/events/uploads`, request);
    expect(response.status).toBe(200);
    const slot = await response.json<{ url: string; method: string; headers: Record<string, string>; expires_at: number }>();
    expect(slot.method).toBe("PUT");
    expect(slot.url).toContain(encodeURIComponent(id));
    expect(slot.expires_at - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const put = await SELF.fetch(slot.url, { method: "PUT", headers: { ...slot.headers, "content-length": "3" }, body: "abc" });
    expect(put.status).toBe(200);

    await expectError(await SELF.fetch(`${BASE}/internal/jobs/${id}/events/uploads`, jsonInit("POST", request)), 401);
    await expectError(await signedPost(`/internal/jobs/${id}/events/uploads`, { ...request, attempt: 2 }), 409, "stale_attempt");
    await expectError(await signedPost(`/internal/jobs/${id}/events/uploads`, { ...request, name: "../escape" }), 400);
  });

  it("gives class-images a slot only to trainings that need the bundle", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const body = { subject_id: subject.id, backend: "container", params: { prior_preservation: { enabled: false } } };
    const { id } = await (await account.request("/v1/trainings", jsonInit("POST", body))).json<{ id: string }>();
    const request = { job_id: id, attempt: 1, name: "class-images", content_type: "application/octet-stream" };
    await expectError(await signedPost(`/internal/jobs/${id}/events/uploads`, request), 400, "unknown_artifact");
  });
});
