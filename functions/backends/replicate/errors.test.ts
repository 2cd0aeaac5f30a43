/**
 * How Replicate's refusals reach a job, checked with the real client against the
 * fake API, plus the pure snapshot→events plan for the statuses the end-to-end
 * tests do not walk through, and the 503s of a deployment missing its secrets.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replicateClient } from "./client";
import { readReplicateConfig, type ReplicateBindings } from "./config";
import { classifyReplicateError } from "./errors";
import { pollBackoffMs } from "./dispatch-marker";
import { planSnapshot } from "./snapshot";
import { RETRY_AFTER_FAILURE_MS, webhookSecret } from "./webhook-secret";
import worker from "../../index";
import { BASE, createAccount, expectError, jsonInit } from "../../../test/helpers/api";
import { makeJpeg } from "../../../test/helpers/images";

const bindings = env as typeof env & ReplicateBindings & { REPLICATE_API_BASE_URL: string };
const FAKE = bindings.REPLICATE_API_BASE_URL.replace(/\/v1$/, "");
const config = readReplicateConfig(bindings);
const client = () => replicateClient({ ...config, token: config.token! });

async function injectFailure(failure: Record<string, unknown>) {
  expect((await fetch(`${FAKE}/_fake/fail`, jsonInit("POST", failure))).status).toBe(200);
}

async function classified(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    return classifyReplicateError(error);
  }
  throw new Error("the call succeeded");
}

describe("Replicate errors through the real client", () => {
  it("makes 422 a permanent failure carrying Replicate's detail", async () => {
    const failure = await classified(() =>
      client().predictions.create({ version: config.trainerVersion, input: { prompt: "x", not_an_input: 1 } }),
    );
    expect(failure).toMatchObject({ retryable: false, status: 422, code: "replicate_invalid_input" });
    expect(failure.message).toContain("Additional property not_an_input is not allowed");
  });

  it("makes a bad token a permanent 401", async () => {
    const failure = await classified(() => replicateClient({ ...config, token: "r8_wrong" }).trainings.get("abc"));
    expect(failure).toMatchObject({ retryable: false, status: 401, code: "replicate_unauthorized" });
    expect(failure.message).toMatch(/REPLICATE_API_TOKEN/);
  });

  it("keeps retry_after from a 429 that outlasts the client's own retries", async () => {
    await injectFailure({ method: "GET", pathPrefix: "/v1/trainings/throttled", status: 429, times: 6, retryAfterS: 7 });
    const failure = await classified(() => client().trainings.get("throttled"));
    expect(failure).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
  });

  it("treats 5xx and an unreachable API as retryable", async () => {
    const marker = "only-this-request-fails";
    await injectFailure({ method: "POST", pathPrefix: "/v1/predictions", bodyIncludes: marker, status: 503, times: 1 });
    const create = () => client().predictions.create({ version: config.trainerVersion, input: { prompt: marker } });
    expect(await classified(create)).toMatchObject({
      retryable: true,
      status: 503,
    });
    // What fetch throws when the connection fails.
    expect(classifyReplicateError(new TypeError("Network connection lost."))).toMatchObject({ retryable: true, status: 0 });
  });
});

describe("poll backoff", () => {
  it("doubles with each failure in a row up to eight intervals, never under retry_after", () => {
    expect([1, 2, 3, 4, 9].map((failures) => pollBackoffMs(60_000, failures))).toEqual([120_000, 240_000, 480_000, 480_000, 480_000]);
    expect(pollBackoffMs(60_000, 0)).toBe(60_000);
    expect(pollBackoffMs(60_000, 1, 600_000)).toBe(600_000);
  });
});

describe("snapshot plan", () => {
  const train = { kind: "train", params: { steps: 10 } } as const;

  it("says a starting job is alive once per minute of its age, so the heartbeat does not give up on a queue", () => {
    const created = "2026-01-01T00:00:00.000Z";
    const at = (minutes: number) => Date.parse(created) + minutes * 60_000 + 5_000;
    const seqs = [0, 0, 3, 4].map((minutes) => planSnapshot({ id: "r", status: "starting", created_at: created }, train, at(minutes)));
    expect(seqs.map((plan) => plan.events.map((event) => event.seq))).toEqual([[10_200], [10_200], [10_203], [10_204]]);
    expect(seqs[0]!.events[0]).toMatchObject({ type: "progress", phase: "preparing", step: 0, total_steps: 10 });
    expect(seqs[0]!.outputs).toEqual([]);
    expect(seqs[0]!.end).toBeUndefined();
  });

  it("retries an aborted job and fails a success without output", () => {
    const aborted = planSnapshot({ id: "r", status: "aborted" }, train).end;
    expect(aborted).toMatchObject({ type: "failed", code: "replicate_aborted", retryable: true });
    expect(planSnapshot({ id: "r", status: "succeeded", output: null }, train).end).toMatchObject({
      type: "failed",
      code: "replicate_no_output",
      retryable: false,
    });
  });

  it("numbers events by what they say, so a later snapshot never reuses an earlier seq", () => {
    const created = "2026-01-01T00:00:00.000Z";
    const twoMinutesIn = Date.parse(created) + 125_000;
    const logs = "30%|███   | 3/10 [00:01<00:02]";
    const early = planSnapshot({ id: "r", status: "processing", created_at: created, logs }, train, twoMinutesIn);
    const late = planSnapshot({ id: "r", status: "succeeded", output: { weights: "https://x.test/w.tar", version: "o/m:v" } }, train);
    expect(early.events.map((event) => event.seq)).toEqual([1, 103, 10_202]);
    expect(early.events[2]).toMatchObject({ type: "progress", phase: "training", step: 3 });
    expect([...late.events, ...late.outputs, late.end!].map((event) => event.seq)).toEqual([1, 110, 20_000, 30_000]);
  });

  it("names a prediction's images in order with their seed and size", () => {
    const shape = { kind: "generate", params: { steps: 30, seed: 9, width: 768, height: 512 } } as const;
    const plan = planSnapshot({ id: "p", status: "succeeded", output: ["https://x.test/a.png", "https://x.test/b.webp"] }, shape);
    expect(plan.outputs.map((file) => [file.name, file.content_type, file.meta])).toEqual([
      ["images/0.png", "image/png", { index: 0, seed: 9, width: 768, height: 512 }],
      ["images/1.webp", "image/webp", { index: 1, seed: 9, width: 768, height: 512 }],
    ]);
  });
});

describe("a deployment missing its Replicate secrets", () => {
  async function call(request: Request, overrides: Record<string, string | undefined>) {
    const ctx = createExecutionContext();
    const response = await worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides }, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  it("answers POST /v1/trainings on Replicate with 503 naming the missing or unusable setting", async () => {
    const account = await createAccount();
    const created = await account.request("/v1/subjects", jsonInit("POST", { name: "Rex", class_noun: "dog" }));
    const subject = await created.json<{ id: string }>();
    for (const [index, shade] of [10, 20, 30].entries()) {
      await account.request(`/v1/subjects/${subject.id}/images/${index}.jpg`, {
        method: "PUT",
        headers: { "content-type": "image/jpeg" },
        body: makeJpeg(512, 512, shade),
      });
    }
    expect((await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" })).status).toBe(200);
    const request = new Request(`${BASE}/v1/trainings`, {
      ...jsonInit("POST", { subject_id: subject.id, backend: "replicate", params: { prior_preservation: { enabled: false } } }),
      headers: { "content-type": "application/json", authorization: `Bearer ${account.apiKey}` },
    });
    const error = await expectError(await call(request.clone(), { REPLICATE_API_TOKEN: undefined }), 503, "missing_secret");
    expect(error.message).toContain("REPLICATE_API_TOKEN");
    const noOwner = await expectError(await call(request.clone(), { REPLICATE_DESTINATION_OWNER: "" }), 503, "misconfigured");
    expect(noOwner.message).toContain("REPLICATE_DESTINATION_OWNER");
    const badVersion = await expectError(await call(request.clone(), { REPLICATE_TRAINER_VERSION: "latest" }), 503, "misconfigured");
    expect(badVersion.message).toContain("REPLICATE_TRAINER_VERSION");
  });

  it("answers the webhook with 503 naming REPLICATE_WEBHOOK_SECRET when it cannot verify anything", async () => {
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1,AAAA" };
    const request = new Request(`${BASE}/v1/webhooks/replicate?job=trn_0123456789abcdefghjk&attempt=1`, { method: "POST", headers, body: "{}" });
    const error = await expectError(
      await call(request, { REPLICATE_API_TOKEN: undefined, REPLICATE_WEBHOOK_SECRET: undefined }),
      503,
      "missing_secret",
    );
    expect(error.message).toContain("REPLICATE_WEBHOOK_SECRET");
  });

  it("fetches the signing secret from Replicate once when only the token is set", async () => {
    const job = "trn_0123456789abcdefghjk";
    const before = (await (await fetch(`${FAKE}/_fake/state`)).json<{ requests: { path: string }[] }>()).requests.length;
    // A delivery for a job that does not exist: verified, accepted, and then ignored.
    const body = JSON.stringify({ id: "nothing", status: "processing" });
    const sign = async (id: string) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const secret = bindings.REPLICATE_WEBHOOK_SECRET!;
      const keyBytes = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
      const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
      return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${btoa(String.fromCharCode(...mac))}` };
    };
    for (const id of ["msg_secret_fetch_1", "msg_secret_fetch_2"]) {
      const request = new Request(`${BASE}/v1/webhooks/replicate?job=${job}&attempt=1`, { method: "POST", headers: await sign(id), body });
      expect((await call(request, { REPLICATE_WEBHOOK_SECRET: undefined })).status).toBe(200);
    }
    const after = (await (await fetch(`${FAKE}/_fake/state`)).json<{ requests: { path: string }[] }>()).requests.slice(before);
    expect(after.filter((request) => request.path === "/v1/webhooks/default/secret")).toHaveLength(1);
  });

  it("answers an unsigned delivery 401 at once, whatever its query, without asking Replicate for the secret", async () => {
    const before = (await (await fetch(`${FAKE}/_fake/state`)).json<{ requests: unknown[] }>()).requests.length;
    for (const query of ["?job=trn_0123456789abcdefghjk&attempt=1", "", "?job=nonsense&attempt=-1"]) {
      const request = new Request(`${BASE}/v1/webhooks/replicate${query}`, { method: "POST", body: "{}" });
      await expectError(await call(request, { REPLICATE_WEBHOOK_SECRET: undefined }), 401, "invalid_signature");
    }
    const after = (await (await fetch(`${FAKE}/_fake/state`)).json<{ requests: { path: string }[] }>()).requests.slice(before);
    expect(after.filter((request) => request.path === "/v1/webhooks/default/secret")).toEqual([]);
  });

  it("remembers a failed secret fetch for a while instead of asking Replicate on every delivery", async () => {
    const token = `r8_unknown_${crypto.randomUUID()}`;
    const config = { ...readReplicateConfig({ ...bindings, REPLICATE_WEBHOOK_SECRET: undefined }), webhookSecret: undefined, token };
    const asked = async () =>
      (await (await fetch(`${FAKE}/_fake/state`)).json<{ requests: { path: string; authorization?: string }[] }>()).requests.filter(
        (request) => request.path === "/v1/webhooks/default/secret" && request.authorization === `Bearer ${token}`,
      ).length;
    const now = Date.now();
    await expect(webhookSecret(config, now)).rejects.toBeTruthy();
    await expect(webhookSecret(config, now + 1000)).rejects.toBeTruthy();
    expect(await asked()).toBe(1);
    await expect(webhookSecret(config, now + RETRY_AFTER_FAILURE_MS + 1)).rejects.toBeTruthy();
    expect(await asked()).toBe(2);
  });
});
