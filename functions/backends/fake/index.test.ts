import { env, runInDurableObject } from "cloudflare:test";
import { imageSize } from "image-size";
import { describe, expect, it } from "vitest";
import { r2Keys } from "../../../shared/index.js";
import { createAccount, jsonInit, testEnv } from "../../../test/helpers/api.js";
import { fireTimer, jobStub, readySubject, timersOf, waitFor } from "../../../test/helpers/jobs.js";

const PNG_MAGIC = [137, 80, 78, 71];

describe("the fake backend", () => {
  it("walks a training to succeeded with placeholder weights in R2, downloadable per format", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const created = await account.request(
      "/v1/trainings",
      jsonInit("POST", { subject_id: subject.id, backend: "fake", params: { steps: 40, validation_prompts: ["a photo of {subject}"] } }),
    );
    expect(created.status).toBe(202);
    const queued = await created.json<{ id: string; status: string }>();
    expect(queued.status).toBe("queued");

    const done = await waitFor(account, `/v1/trainings/${queued.id}`, (job) => job.status === "succeeded");
    expect(done.progress).toMatchObject({ phase: "exporting" });
    const formats = done.artifacts.map((artifact) => artifact.format).sort();
    expect(formats).toEqual(["checkpoint", "class-images", "diffusers-lora", "image", "kohya-lora"]);

    const lora = done.artifacts.find((artifact) => artifact.format === "diffusers-lora")!;
    const stored = await env.BUCKET.get(r2Keys.trainingFile(account.accountId, queued.id, lora.name));
    expect(stored?.size).toBe(lora.size);
    const download = await account.request(`/v1/models/${queued.id}/files/kohya-lora`);
    expect(download.status).toBe(200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.__metadata__).toMatchObject({ placeholder: "true", layout: "kohya" });
    expect(download.headers.get("x-content-sha256")).toBe(done.artifacts.find((a) => a.format === "kohya-lora")!.sha256);

    // The class-image bundle went to the shared cache, with a manifest that makes the next training reuse it.
    const bundle = done.artifacts.find((artifact) => artifact.format === "class-images")!;
    expect(bundle.name).toBe("class-images");
    const manifests = await env.BUCKET.list({ prefix: "class-images/sd15/" });
    expect(manifests.objects.map((object) => object.key).some((key) => key.endsWith(".json"))).toBe(true);
  });

  it("reuses a cached class-image bundle instead of making it again", async () => {
    const account = await createAccount();
    const subject = await readySubject(account, { classNoun: "teapot" });
    const body = { subject_id: subject.id, backend: "fake", params: { steps: 8 } };
    const first = await (await account.request("/v1/trainings", jsonInit("POST", body))).json<{ id: string }>();
    const firstDone = await waitFor(account, `/v1/trainings/${first.id}`, (job) => job.status === "succeeded");
    expect(firstDone.artifacts.some((artifact) => artifact.format === "class-images")).toBe(true);

    const second = await (await account.request("/v1/trainings", jsonInit("POST", body))).json<{ id: string }>();
    const secondDone = await waitFor(account, `/v1/trainings/${second.id}`, (job) => job.status === "succeeded");
    expect(secondDone.artifacts.some((artifact) => artifact.format === "class-images")).toBe(false);
  });

  it("makes a generation of N PNGs of the requested size, served to the same key", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const training = await (
      await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, params: { steps: 4, prior_preservation: { enabled: false } } }))
    ).json<{ id: string }>();
    await waitFor(account, `/v1/trainings/${training.id}`, (job) => job.status === "succeeded");

    const created = await account.request(
      "/v1/generations",
      jsonInit("POST", { training_id: training.id, prompt: "{subject} on the moon", num_images: 3, width: 96, height: 64, seed: 7 }),
    );
    expect(created.status).toBe(202);
    const generation = await created.json<{ id: string; params: { prompt: string } }>();
    expect(generation.params.prompt).toBe(`${subject.identifier} dog on the moon`);

    const done = await waitFor(account, `/v1/generations/${generation.id}`, (job) => job.status === "succeeded");
    expect(done.images.map((image) => [image.width, image.height, image.seed])).toEqual([
      [96, 64, 7],
      [96, 64, 8],
      [96, 64, 9],
    ]);
    const hashes = new Set<string>();
    for (const image of done.images) {
      const response = await account.request(new URL(image.url).pathname);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/png");
      const png = new Uint8Array(await response.arrayBuffer());
      expect([...png.subarray(0, 4)]).toEqual(PNG_MAGIC);
      expect(imageSize(png)).toMatchObject({ width: 96, height: 64, type: "png" });
      hashes.add([...png].join(","));
    }
    expect(hashes.size).toBe(3);
  });
});

describe("webhooks", () => {
  it("tells the job's webhook_url of each state change up to the end, and retries failed deliveries on the alarm", async () => {
    const account = await createAccount();
    const subject = await readySubject(account);
    const sink = `${testEnv.GPU_BACKEND_URL}/__webhook`;
    const key = crypto.randomUUID();
    const body = { subject_id: subject.id, params: { steps: 4, prior_preservation: { enabled: false } } };
    const ok = await (await account.request("/v1/trainings", jsonInit("POST", { ...body, webhook_url: `${sink}/${key}` }))).json<{ id: string }>();
    const failing = await (await account.request("/v1/trainings", jsonInit("POST", { ...body, webhook_url: `${sink}/fail-${key}` }))).json<{ id: string }>();
    await waitFor(account, `/v1/trainings/${ok.id}`, (job) => job.status === "succeeded");
    await waitFor(account, `/v1/trainings/${failing.id}`, (job) => job.status === "succeeded");

    type Call = { type: string; data: { id: string; status: string } };
    const deliveries = async (path: string, done: (calls: Call[]) => boolean) => {
      for (let tries = 0; tries < 200; tries++) {
        const calls = await (await fetch(`${sink}/${path}`)).json<Call[]>();
        if (done(calls)) return calls;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no webhook at ${path}`);
    };
    const delivered = await deliveries(key, (calls) => calls.some((call) => call.type === "training.succeeded"));
    expect(delivered.at(-1)).toMatchObject({ type: "training.succeeded", data: { id: ok.id, status: "succeeded" } });

    const firstRound = await deliveries(`fail-${key}`, (calls) => calls.some((call) => call.type === "training.succeeded"));
    await expect.poll(async () => (await timersOf(failing.id)).webhook).toBeGreaterThan(Date.now() + 5000);
    await runInDurableObject(jobStub(failing.id), (_, state) => {
      state.storage.sql.exec("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE state = 'pending'", Date.now());
    });
    await fireTimer(failing.id, "webhook");
    await deliveries(`fail-${key}`, (calls) => calls.length === firstRound.length * 2);
    const log = await jobStub(failing.id).history();
    expect(log.filter((entry) => entry.type === "webhook_failed")).toHaveLength(firstRound.length * 2);
  });
});
