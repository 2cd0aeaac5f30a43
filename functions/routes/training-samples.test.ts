import { beforeAll, expect, it } from "vitest";
import { createAccount, expectError, jsonInit, type TestAccount } from "../../test/helpers/api.js";
import { readySubject, waitFor } from "../../test/helpers/jobs.js";

let owner: TestAccount;
let trainingId: string;
let samples: { name: string; sha256: string; size: number }[];

beforeAll(async () => {
  owner = await createAccount();
  const subject = await readySubject(owner);
  const params = { steps: 8, resolution: 64, validation_prompts: ["a photo of sks dog", "a sks dog on a beach"] };
  const created = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, params }));
  trainingId = (await created.json<{ id: string }>()).id;
  const training = await waitFor(owner, `/v1/trainings/${trainingId}`, (job) => job.status === "succeeded");
  samples = training.artifacts.filter((artifact) => artifact.name.startsWith("samples/"));
});

it("serves each validation sample of a training, as stored, to the same key", async () => {
  expect(samples).toHaveLength(2);
  for (const sample of samples) {
    const response = await owner.request(`/v1/trainings/${trainingId}/samples/${sample.name.slice("samples/".length)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(bytes.length).toBe(sample.size);
    const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    expect(sha256).toBe(sample.sha256);
  }
});

it("answers 404 for a file that is not a sample, another account, or a malformed name", async () => {
  const file = samples[0].name.slice("samples/".length);
  await expectError(await owner.request(`/v1/trainings/${trainingId}/samples/no-such.png`), 404);
  await expectError(await owner.request(`/v1/trainings/${trainingId}/samples/kohya_lora.safetensors`), 404);
  const stranger = await createAccount();
  await expectError(await stranger.request(`/v1/trainings/${trainingId}/samples/${file}`), 404);
  await expectError(await owner.request(`/v1/trainings/${trainingId}/samples/..%2Fartifacts%2Fkohya_lora.safetensors`), 400);
});
