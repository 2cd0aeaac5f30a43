import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, createAccount, expectError, type TestAccount } from "../test/helpers/api";
import { createSubject, putImage } from "../test/helpers/subjects";
import { JSON_BODY_LIMIT } from "./body-limit";

/** A chunked body (no Content-Length) of `total` bytes that records how much of it was read. */
function chunkedBody(total: number, first: number[] = [0x7b]) {
  const state = { pulled: 0, done: false };
  const filler = new TextEncoder().encode(" ".repeat(16 * 1024));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) {
        state.done = true;
        return controller.close();
      }
      const chunk = state.pulled === 0 ? new Uint8Array([...first, ...filler.subarray(first.length)]) : filler;
      state.pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { stream, state };
}

const jsonHeaders = { "content-type": "application/json" };
const threeMegabytes = 3 * 1024 * 1024;

async function healthy(account: TestAccount) {
  const next = await account.request("/v1/subjects", { method: "POST", headers: jsonHeaders, body: JSON.stringify({ name: "next", class_noun: "dog" }) });
  expect(next.status).toBe(201);
}

describe("every body-reading route has a size limit, enforced before buffering", () => {
  it("answers 413, not 400, for oversized JSON on routes that had no limit: POST /v1/keys, PATCH /v1/account", async () => {
    const account = await createAccount();
    const big = JSON.stringify({ name: "x".repeat(threeMegabytes) });
    for (const [path, method] of [["/v1/keys", "POST"], ["/v1/account", "PATCH"], ["/v1/subjects", "POST"]] as const) {
      await expectError(await account.request(path, { method, headers: jsonHeaders, body: big }), 413, "payload_too_large");
      const chunked = chunkedBody(threeMegabytes);
      await expectError(await account.request(path, { method, headers: jsonHeaders, body: chunked.stream }), 413, "payload_too_large");
    }
  });

  it("refuses a chunked body over the limit with an Idempotency-Key without buffering it whole", async () => {
    const account = await createAccount();
    const chunked = chunkedBody(threeMegabytes);
    const response = await account.request("/v1/subjects", { method: "POST", headers: { ...jsonHeaders, "Idempotency-Key": "big-1" }, body: chunked.stream });
    await expectError(response, 413, "payload_too_large");
    // The key was never claimed: the same key with a proper body runs.
    const retry = await account.request("/v1/subjects", { method: "POST", headers: { ...jsonHeaders, "Idempotency-Key": "big-1" }, body: JSON.stringify({ name: "a", class_noun: "dog" }) });
    expect(retry.status).toBe(201);
  });

  it("refuses an oversized Replicate webhook before reading it for its signature", async () => {
    const response = await SELF.fetch(`${BASE}/v1/webhooks/replicate?job=trn_00000000000000000000&attempt=1`, {
      method: "POST",
      headers: jsonHeaders,
      body: chunkedBody(2 * 1024 * 1024).stream,
    });
    await expectError(response, 413, "payload_too_large");
  });

  it("refuses oversized bodies on the unauthenticated routes too (admin, bots, internal)", async () => {
    for (const path of ["/admin/accounts", "/bots/slack/commands", "/internal/jobs/trn_00000000000000000000/events"]) {
      await expectError(await SELF.fetch(`${BASE}${path}`, { method: "POST", headers: jsonHeaders, body: chunkedBody(threeMegabytes).stream }), 413, "payload_too_large");
    }
  });

  it("keeps JSON bodies up to the limit working", async () => {
    const account = await createAccount();
    const body = JSON.stringify({ name: "n".repeat(100), class_noun: "dog" }).padEnd(JSON_BODY_LIMIT, " ");
    expect((await account.request("/v1/subjects", { method: "POST", headers: jsonHeaders, body })).status).toBe(201);
  });
});

describe("a refused body leaves the runtime healthy", () => {
  it("reads a refused chunked body to its end before answering, and the next request works", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const photo = chunkedBody(11 * 1024 * 1024, [0xff, 0xd8, 0xff]);
    await expectError(await putImage(account, subject.id, "big.jpg", photo.stream), 413, "payload_too_large");
    expect(photo.state.done).toBe(true);
    await healthy(account);

    const json = chunkedBody(200 * 1024);
    await expectError(await account.request("/v1/subjects", { method: "POST", headers: jsonHeaders, body: json.stream }), 413);
    expect(json.state.done).toBe(true);
    await healthy(account);
  });

  it("reads a body refused before any route looked at it (401, 403) to its end as well", async () => {
    const unauthenticated = chunkedBody(200 * 1024);
    await expectError(await SELF.fetch(`${BASE}/v1/subjects/sub_x/images/a.jpg`, { method: "PUT", headers: { "content-type": "image/jpeg" }, body: unauthenticated.stream }), 401);
    expect(unauthenticated.state.done).toBe(true);
    const unsigned = chunkedBody(200 * 1024);
    await expectError(await SELF.fetch(`${BASE}/files/accounts/a/x?expires=1&sig=${"0".repeat(64)}&max=9`, { method: "PUT", body: unsigned.stream }), 403);
    expect(unsigned.state.done).toBe(true);
  });
});
