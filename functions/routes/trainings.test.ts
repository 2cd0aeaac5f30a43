import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { chooseBaseModel } from "../jobs/base-models.js";
import { BASE, createAccount, expectError, jsonInit, type TestAccount } from "../../test/helpers/api.js";
import { readySubject, sendEvent, waitFor } from "../../test/helpers/jobs.js";

let owner: TestAccount;
let stranger: TestAccount;
let subjectId: string;
let trainingId: string;
let generationId: string;

beforeAll(async () => {
  owner = await createAccount();
  stranger = await createAccount();
  subjectId = (await readySubject(owner)).id;
  const training = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, params: { steps: 4 } }));
  trainingId = (await training.json<{ id: string }>()).id;
  await waitFor(owner, `/v1/trainings/${trainingId}`, (job) => job.status === "succeeded");
  const generation = await owner.request("/v1/generations", jsonInit("POST", { training_id: trainingId, prompt: "{subject}" }));
  generationId = (await generation.json<{ id: string }>()).id;
  await waitFor(owner, `/v1/generations/${generationId}`, (job) => job.status === "succeeded");
});

describe("POST /v1/trainings", () => {
  it("answers 202 queued with the fully resolved parameters", async () => {
    const response = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, backend: "container", params: { method: "full" } }));
    expect(response.status).toBe(202);
    const training = await response.json<{ id: string; status: string; params: Record<string, unknown>; subject_id: string }>();
    expect(training).toMatchObject({ status: "queued", subject_id: subjectId, backend: "container", base_model: "sd15", attempt: 1 });
    expect(training.id).toMatch(/^trn_/);
    expect(training.params).toMatchObject({ method: "full", learning_rate: 5e-6, resolution: 512, steps: 1000, instance_prompt: expect.stringMatching(/^a photo of \w+ dog$/) });
  });

  it("defaults the learning rate per method and base model: the paper's on sd15, the calibrated ones on tiny-emoji, the client's when given", async () => {
    const start = async (base_model: string, params: Record<string, unknown>) => {
      const response = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, backend: "container", base_model, params }));
      expect(response.status).toBe(202);
      return (await response.json<{ params: { method: string; learning_rate: number } }>()).params;
    };
    expect(await start("sd15", {})).toMatchObject({ method: "lora", learning_rate: 1e-4 });
    expect(await start("tiny-emoji", {})).toMatchObject({ method: "lora", learning_rate: 2e-3 });
    expect(await start("tiny-emoji", { method: "full" })).toMatchObject({ method: "full", learning_rate: 2e-4 });
    expect(await start("tiny-emoji", { learning_rate: 3e-4 })).toMatchObject({ method: "lora", learning_rate: 3e-4 });
    expect(await start("tiny-random", {})).toMatchObject({ method: "lora", learning_rate: 1e-4 });
  });

  it("takes a base model the GPU backend serves, at its native resolution, else DEFAULT_BASE_MODEL", async () => {
    const tiny = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, backend: "container", base_model: "tiny-random" }));
    expect(await tiny.json()).toMatchObject({ base_model: "tiny-random", params: { resolution: 32 } });
    expect(chooseBaseModel(undefined, { DEFAULT_BASE_MODEL: "tiny-random" })).toBe("tiny-random");
    expect(chooseBaseModel("sd15", { DEFAULT_BASE_MODEL: "tiny-random" })).toBe("sd15");
    expect(() => chooseBaseModel(undefined, { DEFAULT_BASE_MODEL: "sdxl" })).toThrow(/DEFAULT_BASE_MODEL "sdxl" is not one of sd15, tiny-emoji, tiny-random/);
  });

  it("names the out-of-range field in a 400", async () => {
    for (const [params, field] of [
      [{ steps: 0 }, "params.steps"],
      [{ learning_rate: 1 }, "params.learning_rate"],
      [{ resolution: 100 }, "params.resolution"],
      [{ prior_preservation: { num_class_images: 5000 } }, "params.prior_preservation.num_class_images"],
      [{ sneaky: true }, "params"],
    ] as const) {
      const error = await expectError(await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, params })), 400, "invalid_request");
      expect(error.message, JSON.stringify(params)).toContain(field);
    }
    await expectError(await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, backend: "nope" })), 400);
    await expectError(await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, base_model: "sdxl-huge" })), 400);
    await expectError(await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, webhook_url: "ftp://x" })), 400);
  });

  it("needs a finalized subject of the caller's own account", async () => {
    const draft = await (await owner.request("/v1/subjects", jsonInit("POST", { name: "d", class_noun: "cat" }))).json<{ id: string }>();
    await expectError(await owner.request("/v1/trainings", jsonInit("POST", { subject_id: draft.id })), 409, "subject_not_finalized");
    await expectError(await stranger.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId })), 404);
    await expectError(await owner.request("/v1/trainings", jsonInit("POST", { subject_id: "sub_missing" })), 404);
  });
});

describe("trainings: read, follow, cancel", () => {
  it("GET shows status, progress and downloadable artifacts", async () => {
    const training = await (await owner.request(`/v1/trainings/${trainingId}`)).json<{ status: string; progress: object; artifacts: { format: string; download_url?: string }[] }>();
    expect(training.status).toBe("succeeded");
    expect(training.progress).toEqual({ phase: "exporting", step: 0, total_steps: 1, loss: null, eta_s: 0 });
    const lora = training.artifacts.find((artifact) => artifact.format === "diffusers-lora")!;
    expect(lora.download_url).toBe(`${BASE}/v1/models/${trainingId}/files/diffusers-lora`);
    expect((await owner.request(new URL(lora.download_url!).pathname)).status).toBe(200);
  });

  it("streams the current state first to a late client, then live events until the job ends", async () => {
    const subject = await readySubject(owner);
    const created = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "container" }));
    const { id } = await created.json<{ id: string }>();
    await waitFor(owner, `/v1/trainings/${id}`, (job) => job.status === "dispatched");
    const stream = await owner.request(`/v1/trainings/${id}/events`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += value;
      }
    };
    await readUntil("\n\n");
    expect(text).toMatch(/^event: state\ndata: \{"job":\{"id":"trn_/);
    expect(text).toContain('"status":"dispatched"');
    await sendEvent(id, { attempt: 1, seq: 0, type: "progress", phase: "training", step: 3, total_steps: 10, loss: 0.5 });
    await readUntil("event: progress");
    await readUntil('"step":3');
    await sendEvent(id, { attempt: 1, seq: 1, type: "succeeded" });
    await readUntil("event: succeeded");
    for (;;) if ((await reader.read()).done) break;
    expect(text).toContain("id: 1-1");

    const late = await (await owner.request(`/v1/trainings/${id}/events`)).text();
    expect(late).toMatch(/^event: state\n/);
    expect(late).toContain('"status":"succeeded"');
  });

  it("offers the same live events over a WebSocket", async () => {
    const subject = await readySubject(owner);
    const created = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "container" }));
    const { id } = await created.json<{ id: string }>();
    await waitFor(owner, `/v1/trainings/${id}`, (job) => job.status === "dispatched");
    const upgrade = await owner.request(`/v1/trainings/${id}/events`, { headers: { upgrade: "websocket" } });
    expect(upgrade.status).toBe(101);
    const socket = upgrade.webSocket!;
    const messages: { event: string; data: { job: { status: string } } }[] = [];
    const closed = new Promise<number>((resolve) => socket.addEventListener("close", (event) => resolve(event.code)));
    socket.addEventListener("message", (event) => messages.push(JSON.parse(event.data as string)));
    socket.accept();
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toMatchObject({ event: "state", data: { job: { status: "dispatched" } } });
    await sendEvent(id, { attempt: 1, seq: 0, type: "progress", phase: "training", step: 1, total_steps: 2 });
    await sendEvent(id, { attempt: 1, seq: 1, type: "canceled" });
    expect(await closed).toBe(1000);
    expect(messages.map((message) => [message.event, message.data.job.status])).toEqual([
      ["state", "dispatched"],
      ["progress", "training"],
      ["canceled", "canceled"],
    ]);
  });

  it("cancels a live training once; a second cancel is a 409", async () => {
    const response = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, backend: "container" }));
    const { id } = await response.json<{ id: string }>();
    const canceled = await owner.request(`/v1/trainings/${id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(202);
    expect((await canceled.json<{ status: string }>()).status).toBe("canceled");
    await expectError(await owner.request(`/v1/trainings/${id}/cancel`, { method: "POST" }), 409, "job_finished");
    await expectError(await sendEvent(id, { attempt: 1, seq: 0, type: "started", backend: "container", device: "x" }), 409, "terminal");
  });
});

describe("generations", () => {
  it("needs a succeeded training of the caller's own account", async () => {
    const pending = await owner.request("/v1/trainings", jsonInit("POST", { subject_id: subjectId, backend: "container" }));
    const { id } = await pending.json<{ id: string }>();
    await expectError(await owner.request("/v1/generations", jsonInit("POST", { training_id: id, prompt: "x" })), 409, "training_not_ready");
    await expectError(await stranger.request("/v1/generations", jsonInit("POST", { training_id: trainingId, prompt: "x" })), 404);
  });

  it("validates the request: num_images 1–8, a prompt, sizes in multiples of 8", async () => {
    for (const [body, field] of [
      [{ training_id: trainingId, prompt: "x", num_images: 9 }, "num_images"],
      [{ training_id: trainingId, prompt: "x", num_images: 0 }, "num_images"],
      [{ training_id: trainingId }, "prompt"],
      [{ training_id: trainingId, prompt: "x", width: 100 }, "width"],
      [{ training_id: trainingId, prompt: "x", scheduler: "magic" }, "scheduler"],
    ] as const) {
      const error = await expectError(await owner.request("/v1/generations", jsonInit("POST", body)), 400);
      expect(error.message).toContain(field);
    }
  });

  it("lists images with their size and seed, fetchable with the API key only", async () => {
    const generation = await (await owner.request(`/v1/generations/${generationId}`)).json<{ images: { url: string; width: number; height: number; seed: number }[]; training_id: string }>();
    expect(generation.training_id).toBe(trainingId);
    expect(generation.images).toHaveLength(1);
    expect(generation.images[0]).toMatchObject({ width: 512, height: 512 });
    const path = new URL(generation.images[0].url).pathname;
    expect((await owner.request(path)).status).toBe(200);
    await expectError(await SELF.fetch(`${BASE}${path}`), 401);
    await expectError(await owner.request(`/v1/generations/${generationId}/images/5`), 404);
  });
});

describe("models", () => {
  it("streams each weight format it has and 404s the others", async () => {
    const response = await owner.request(`/v1/models/${trainingId}/files/diffusers-lora`);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="${trainingId}-pytorch_lora_weights.safetensors"`);
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(8);
    await response.arrayBuffer();
    await expectError(await owner.request(`/v1/models/${trainingId}/files/diffusers`), 404);
    await expectError(await owner.request(`/v1/models/${trainingId}/files/onnx`), 400);
  });
});

describe("tenant isolation: another account's jobs are 404 on every route", () => {
  it("hides trainings, generations, images, events and weights", async () => {
    const requests: [string, RequestInit?][] = [
      [`/v1/trainings/${trainingId}`],
      [`/v1/trainings/${trainingId}/events`],
      [`/v1/trainings/${trainingId}/cancel`, { method: "POST" }],
      [`/v1/models/${trainingId}/files/diffusers-lora`],
      [`/v1/generations/${generationId}`],
      [`/v1/generations/${generationId}/images/0`],
      [`/v1/generations/${generationId}/events`],
      [`/v1/generations/${generationId}/cancel`, { method: "POST" }],
      [`/v1/generations`, jsonInit("POST", { training_id: trainingId, prompt: "x" })],
    ];
    for (const [path, init] of requests) {
      const error = await expectError(await stranger.request(path, init), 404);
      expect(error.message, path).not.toContain(owner.accountId);
    }
    // Ids of the wrong kind or shape are the same 404.
    await expectError(await owner.request(`/v1/trainings/${generationId}`), 404);
    await expectError(await owner.request(`/v1/generations/${trainingId}`), 404);
    await expectError(await owner.request(`/v1/trainings/not-an-id`), 404);
    const stillThere = await (await owner.request(`/v1/trainings/${trainingId}`)).json<{ status: string }>();
    expect(stillThere.status).toBe("succeeded");
  });
});

describe("listing trainings and generations", () => {
  type Listed = { items: { id: string; status: string; subject_id?: string; training_id?: string }[]; next_cursor: string | null };
  const list = async (account: TestAccount, path: string) => {
    const response = await account.request(path);
    expect(response.status, path).toBe(200);
    return response.json<Listed>();
  };

  it("lists the caller's own trainings newest first as full views, filtered by subject and status, page by page", async () => {
    const account = await createAccount();
    const first = (await readySubject(account)).id;
    const second = (await readySubject(account)).id;
    const started: string[] = [];
    for (const subject of [first, second, second]) {
      const response = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject, params: { steps: 2 } }));
      started.push((await response.json<{ id: string }>()).id);
    }
    const all = await list(account, "/v1/trainings");
    expect(all.items.map((item) => item.id)).toEqual([...started].reverse());
    expect(all.items[0]).toMatchObject({ subject_id: second, params: { steps: 2 } });
    expect((await list(account, `/v1/trainings?subject_id=${first}`)).items.map((item) => item.id)).toEqual([started[0]]);

    const firstPage = await list(account, "/v1/trainings?limit=2");
    expect(firstPage.items).toHaveLength(2);
    const secondPage = await list(account, `/v1/trainings?limit=2&cursor=${firstPage.next_cursor}`);
    expect([...firstPage.items, ...secondPage.items].map((item) => item.id)).toEqual(all.items.map((item) => item.id));
    expect(secondPage.next_cursor).toBeNull();

    await waitFor(account, `/v1/trainings/${started[0]}`, (job) => job.status === "succeeded");
    // The listing's status is the account index's copy, pushed after the job's own record is saved
    // (job-do.ts pushListing): a client that saw the job succeed polls the listing until it shows that too.
    const listed = (page: unknown) => (page as { items: Array<{ id: string }> }).items.some((item) => item.id === started[0]);
    await waitFor(account, "/v1/trainings?status=succeeded", listed);
    const succeeded = await list(account, "/v1/trainings?status=succeeded");
    expect(succeeded.items.map((item) => item.id)).toContain(started[0]);
    expect(succeeded.items.every((item) => item.status === "succeeded")).toBe(true);
    expect((await list(stranger, "/v1/trainings")).items).toEqual([]);
  });

  it("lists generations by training or by subject", async () => {
    expect((await list(owner, `/v1/generations?training_id=${trainingId}`)).items.map((item) => item.id)).toContain(generationId);
    expect((await list(owner, `/v1/generations?subject_id=${subjectId}`)).items.map((item) => item.id)).toContain(generationId);
    expect((await list(owner, "/v1/generations?subject_id=sub_other")).items).toEqual([]);
    expect((await list(stranger, `/v1/generations?training_id=${trainingId}`)).items).toEqual([]);
  });

  it("answers a malformed filter or cursor with 400", async () => {
    await expectError(await owner.request("/v1/trainings?status=finished"), 400, "invalid_request");
    await expectError(await owner.request("/v1/generations?cursor=abc"), 400, "invalid_request");
    await expectError(await owner.request("/v1/trainings?limit=1000"), 400, "invalid_request");
  });
});
