import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createAccount, expectError, jsonInit, testEnv, withNewKey, type TestAccount } from "../../test/helpers/api";
import type { JobDO } from "./job-do";
import { jobStub, readySubject, timersOf, waitFor } from "../../test/helpers/jobs";
import { sendWebhook } from "./webhooks";

type Received = { headers: Record<string, string>; body: string; status: number };
type Delivery = { id: string; type: string; state: string; attempts: number };

const inbox = () => `${testEnv.WEBHOOK_RECEIVER_URL}/${crypto.randomUUID()}`;
const received = async (url: string) => (await fetch(url)).json<Received[]>();
const script = (url: string, statuses: number[]) => fetch(url.replace(/\/([^/]+)$/, "/__script/$1"), jsonInit("POST", { statuses }));

/** Standard Webhooks verification, written here from the spec rather than taken from the Worker. */
async function verifyStandardWebhook(secret: string, message: Received): Promise<boolean> {
  const id = message.headers["webhook-id"];
  const timestamp = message.headers["webhook-timestamp"];
  const keyBytes = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${message.body}`);
  for (const signature of message.headers["webhook-signature"].split(" ")) {
    const [version, value] = signature.split(",");
    const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    if (version === "v1" && (await crypto.subtle.verify("HMAC", key, bytes, signed))) return true;
  }
  return false;
}

async function succeededTraining(account: TestAccount, webhookUrl?: string) {
  const subject = await readySubject(account);
  const body = { subject_id: subject.id, params: { steps: 4, prior_preservation: { enabled: false } }, ...(webhookUrl ? { webhook_url: webhookUrl } : {}) };
  const response = await account.request("/v1/trainings", jsonInit("POST", body));
  expect(response.status).toBe(202);
  const { id } = await response.json<{ id: string }>();
  await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "succeeded");
  return id;
}

/** The job's delivery log once every queued delivery has been tried at least once. */
async function firstRoundDone(account: TestAccount, id: string): Promise<Delivery[]> {
  let deliveries: Delivery[] = [];
  await expect
    .poll(async () => {
      deliveries = (await (await account.request(`/v1/trainings/${id}`)).json<{ webhook_deliveries: Delivery[] }>()).webhook_deliveries;
      return deliveries.length > 0 && deliveries.every((delivery) => delivery.attempts > 0);
    }, { timeout: 8000 })
    .toBe(true);
  // The alarm run that made the last try is over once it has set the next retry (or none).
  await expect.poll(async () => (await timersOf(id)).webhook ?? Infinity).toBeGreaterThan(Date.now() + 5000);
  return deliveries;
}

/**
 * Lets the retry time of every pending delivery come and runs the job's alarm handler
 * to its end, inside the object, so no platform alarm runs beside it.
 */
async function retryNow(id: string) {
  await runInDurableObject(jobStub(id), async (job: JobDO, state) => {
    const now = Date.now();
    state.storage.sql.exec("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE state = 'pending'", now);
    state.storage.sql.exec("UPDATE timers SET at = ? WHERE name = 'webhook'", now);
    await job.alarm();
  });
}

describe("customer webhooks", () => {
  it("sends every state change signed per Standard Webhooks with the account's secret", async () => {
    const account = await createAccount();
    const url = inbox();
    const id = await succeededTraining(account, url);
    const deliveries = await firstRoundDone(account, id);
    const messages = await received(url);
    const { webhook_secret } = await (await account.request("/v1/account")).json<{ webhook_secret: string }>();
    expect(webhook_secret).toMatch(/^whsec_/);
    const types = messages.map((message) => JSON.parse(message.body).type);
    expect(types).toEqual(deliveries.map((delivery) => delivery.type));
    expect(types[0]).toBe("training.dispatched");
    expect(types.at(-1)).toBe("training.succeeded");
    for (const message of messages) {
      expect(await verifyStandardWebhook(webhook_secret, message)).toBe(true);
      expect(Math.abs(Number(message.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
      expect(await verifyStandardWebhook(webhook_secret, { ...message, body: message.body.replace("training", "trainin") })).toBe(false);
    }
    expect(JSON.parse(messages.at(-1)!.body)).toMatchObject({ type: "training.succeeded", data: { id, status: "succeeded" } });
    expect(new Set(deliveries.map((delivery) => `${delivery.state} ${delivery.attempts}`))).toEqual(new Set(["delivered 1"]));
  });

  it("retries failed deliveries under the same webhook-id until a 2xx, then stops", async () => {
    const account = await createAccount("test");
    const url = inbox();
    await script(url, Array(20).fill(500));
    const id = await succeededTraining(account, url);
    const failedOnce = await firstRoundDone(account, id);
    expect(failedOnce.every((delivery) => delivery.state === "pending")).toBe(true);
    expect((await timersOf(id)).webhook).toBeGreaterThan(Date.now() + 5000);
    await script(url, []);
    await retryNow(id);
    const view = await (await account.request(`/v1/trainings/${id}`)).json<{ webhook_deliveries: Delivery[] }>();
    expect(new Set(view.webhook_deliveries.map((delivery) => `${delivery.state} ${delivery.attempts}`))).toEqual(new Set(["delivered 2"]));
    expect((await timersOf(id)).webhook).toBeUndefined();
    const messages = await received(url);
    expect(messages).toHaveLength(failedOnce.length * 2);
    const ids = (status: number) => messages.filter((message) => message.status === status).map((message) => message.headers["webhook-id"]);
    expect(ids(200).sort()).toEqual(ids(500).sort());
    await retryNow(id);
    expect(await received(url)).toHaveLength(failedOnce.length * 2);
  });

  it("gives up after the last retry and records the final failure on the job", async () => {
    const account = await createAccount("test");
    const url = inbox();
    await script(url, Array(200).fill(503));
    const id = await succeededTraining(account, url);
    await firstRoundDone(account, id);
    for (let retry = 0; retry < 4; retry++) await retryNow(id);
    const view = await (await account.request(`/v1/trainings/${id}`)).json<{ webhook_deliveries: Delivery[] }>();
    expect(new Set(view.webhook_deliveries.map((delivery) => `${delivery.state} ${delivery.attempts}`))).toEqual(new Set(["failed 5"]));
    const log = await jobStub(id).history();
    expect(log.filter((entry) => entry.type === "webhook_gave_up")).toHaveLength(view.webhook_deliveries.length);
    expect((await timersOf(id)).webhook).toBeUndefined();
  });

  it("uses the account's default webhook_url when a live job names none, and never for a test job", async () => {
    const account = await createAccount();
    const url = inbox();
    expect((await account.request("/v1/account", jsonInit("PATCH", { webhook_url: url }))).status).toBe(200);
    const id = await succeededTraining(account);
    await firstRoundDone(account, id);
    expect((await received(url)).map((message) => JSON.parse(message.body).type)).toContain("training.succeeded");
    const tester = await withNewKey(account, "test");
    const before = (await received(url)).length;
    const testJob = await succeededTraining(tester);
    const testView = await (await tester.request(`/v1/trainings/${testJob}`)).json<Record<string, unknown>>();
    expect(testView).not.toHaveProperty("webhook_deliveries");
    expect(await received(url)).toHaveLength(before);
  });

  it("refuses a webhook_url that is not http(s) on the account", async () => {
    const account = await createAccount();
    await expectError(await account.request("/v1/account", jsonInit("PATCH", { webhook_url: "ftp://example.com" })), 400);
  });

  it("does not follow a redirect: the 3xx is a failed delivery and the Location is never called", async () => {
    const url = inbox();
    await script(url, [302]);
    const sent = await sendWebhook(url, { id: "msg_redirect", payload: "{}" }, "whsec_dGVzdA==", true);
    expect(sent).toEqual({ delivered: false, outcome: "status 302 (redirects are not followed)" });
    expect(await received(url)).toHaveLength(1);
    expect(await received(`${url}-redirected`)).toHaveLength(0);
  });

  it("re-checks the URL at send time with the production policy: a loopback address in hex IPv6 is never called", async () => {
    const url = inbox();
    const port = new URL(url).port;
    const mapped = url.replace(`127.0.0.1:${port}`, `[::ffff:7f00:1]:${port}`);
    const sent = await sendWebhook(mapped, { id: "msg_mapped", payload: "{}" }, "whsec_dGVzdA==", false);
    expect(sent.delivered).toBe(false);
    expect(sent.outcome).toMatch(/^webhook_url /);
    expect(await received(url)).toHaveLength(0);
  });
});
