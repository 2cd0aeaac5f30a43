import { describe, expect, it } from "vitest";
import { createAccount, expectError, jsonInit, type TestAccount } from "../../test/helpers/api.js";
import { readySubject, sendEvent, uploadArtifact, waitFor } from "../../test/helpers/jobs.js";

const LORA = "artifacts/pytorch_lora_weights.safetensors";

/** A container training whose attempt 1 uploaded its LoRA and a checkpoint, then stopped where `end` says. */
async function trainingWithWeights(account: TestAccount) {
  const subject = await readySubject(account);
  const { id } = await (await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "container" }))).json<{ id: string }>();
  await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "dispatched");
  const files = [
    { name: LORA, format: "diffusers-lora", body: "weights" },
    { name: "checkpoints/step-000010.safetensors", format: "checkpoint", body: "ckpt" },
  ] as const;
  for (const [seq, file] of files.entries()) {
    await uploadArtifact(id, 1, file.name, file.body);
    const event = { attempt: 1, seq, type: "artifact", name: file.name, format: file.format, sha256: "f".repeat(64), size: file.body.length, content_type: "application/octet-stream" } as const;
    expect((await sendEvent(id, event)).status).toBe(200);
  }
  return id;
}

describe("GET /v1/models/:id/files/:format serves only a succeeded training's weights", () => {
  it("answers 409 while the training runs and 200 once it succeeded", async () => {
    const account = await createAccount();
    const id = await trainingWithWeights(account);
    await expectError(await account.request(`/v1/models/${id}/files/diffusers-lora`), 409, "training_not_ready");
    const running = await (await account.request(`/v1/trainings/${id}`)).json<{ artifacts: { name: string; download_url?: string }[] }>();
    expect(running.artifacts.find((artifact) => artifact.name === LORA)?.download_url).toBeUndefined();
    expect((await sendEvent(id, { attempt: 1, seq: 2, type: "succeeded" })).status).toBe(200);
    expect(await (await account.request(`/v1/models/${id}/files/diffusers-lora`)).text()).toBe("weights");
  });

  it("answers 410 with the reason after a failure, while the checkpoints stay listed", async () => {
    const account = await createAccount();
    const id = await trainingWithWeights(account);
    await sendEvent(id, { attempt: 1, seq: 2, type: "failed", code: "training_diverged", message: "the loss became NaN at step 11", retryable: false });
    const gone = await expectError(await account.request(`/v1/models/${id}/files/diffusers-lora`), 410, "training_failed");
    expect(gone.message).toContain("the loss became NaN at step 11");
    const failed = await (await account.request(`/v1/trainings/${id}`)).json<{ artifacts: { name: string; download_url?: string }[] }>();
    expect(failed.artifacts.map((artifact) => artifact.name)).toContain("checkpoints/step-000010.safetensors");
    expect(failed.artifacts.every((artifact) => artifact.download_url === undefined)).toBe(true);
  });

  it("answers 410 after a cancel", async () => {
    const account = await createAccount();
    const id = await trainingWithWeights(account);
    expect((await account.request(`/v1/trainings/${id}/cancel`, { method: "POST" })).status).toBe(202);
    await expectError(await account.request(`/v1/models/${id}/files/kohya-lora`), 410, "training_canceled");
  });
});
