import { describe, expect, it } from "vitest";
import { createAccount, expectError, jsonInit, withNewKey, type TestAccount } from "../../test/helpers/api";
import { makeJpeg } from "../../test/helpers/images";
import { readySubject, waitFor } from "../../test/helpers/jobs";
import { createSubject } from "../../test/helpers/subjects";

/** One account with a live key and a test key, and a succeeded training, a generation and a draft made by `maker`. */
async function objectsOf(maker: TestAccount) {
  const subject = await readySubject(maker);
  const training = await (await maker.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, params: { steps: 4, prior_preservation: { enabled: false } } }))).json<{ id: string }>();
  await waitFor(maker, `/v1/trainings/${training.id}`, (job) => job.status === "succeeded");
  const generation = await (await maker.request("/v1/generations", jsonInit("POST", { training_id: training.id, prompt: "a photo of {subject}" }))).json<{ id: string }>();
  await waitFor(maker, `/v1/generations/${generation.id}`, (job) => job.status === "succeeded");
  const draft = await createSubject(maker);
  return { subject: subject.id, training: training.id, generation: generation.id, draft: draft.id };
}

/** Every read and write path by id answers 404 to `other`; every listing leaves the objects out. */
async function expectInvisible(other: TestAccount, ids: Awaited<ReturnType<typeof objectsOf>>) {
  const notFound = [
    [`/v1/subjects/${ids.subject}`, {}],
    [`/v1/subjects/${ids.subject}`, { method: "DELETE" }],
    [`/v1/subjects/${ids.draft}/images/a.jpg`, { method: "PUT", headers: { "content-type": "image/jpeg" }, body: makeJpeg(64, 64) }],
    [`/v1/subjects/${ids.draft}/uploads`, jsonInit("POST", { files: [{ name: "a.jpg", content_type: "image/jpeg" }] })],
    [`/v1/subjects/${ids.draft}/finalize`, { method: "POST" }],
    [`/v1/trainings/${ids.training}`, {}],
    [`/v1/trainings/${ids.training}/cancel`, { method: "POST" }],
    [`/v1/trainings/${ids.training}/events`, {}],
    [`/v1/models/${ids.training}/files/diffusers-lora`, {}],
    [`/v1/generations/${ids.generation}`, {}],
    [`/v1/generations/${ids.generation}/images/0`, {}],
    ["/v1/trainings", jsonInit("POST", { subject_id: ids.subject })],
    ["/v1/generations", jsonInit("POST", { training_id: ids.training, prompt: "x" })],
  ] as const;
  for (const [path, init] of notFound) await expectError(await other.request(path, init as RequestInit), 404);
  const listed = async (path: string) => (await (await other.request(path)).json<{ items: { id: string }[] }>()).items.map((item) => item.id);
  expect(await listed("/v1/subjects")).not.toContain(ids.subject);
  expect(await listed("/v1/trainings")).not.toContain(ids.training);
  expect(await listed(`/v1/trainings?subject_id=${ids.subject}`)).toEqual([]);
  expect(await listed("/v1/generations")).not.toContain(ids.generation);
}

describe("key modes: a key sees and touches only objects of its own mode (Stripe's model)", () => {
  it("hides live subjects, trainings, weights and generations from a test key of the same account", async () => {
    const live = await createAccount();
    const ids = await objectsOf(live);
    await expectInvisible(await withNewKey(live, "test"), ids);
    // The live key still sees all of it.
    expect((await live.request(`/v1/models/${ids.training}/files/diffusers-lora`)).status).toBe(200);
  });

  it("hides test objects from a live key of the same account", async () => {
    const live = await createAccount();
    const ids = await objectsOf(await withNewKey(live, "test"));
    await expectInvisible(live, ids);
  });

  it("lists each mode's own objects to its key", async () => {
    const live = await createAccount();
    const test = await withNewKey(live, "test");
    const ids = await objectsOf(test);
    const listed = async (path: string) => (await (await test.request(path)).json<{ items: { id: string }[] }>()).items.map((item) => item.id);
    expect(await listed("/v1/trainings")).toEqual([ids.training]);
    expect(await listed(`/v1/generations?subject_id=${ids.subject}`)).toEqual([ids.generation]);
  });
});
