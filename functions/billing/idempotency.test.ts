import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountStore } from "../accounts/account-do";
import { requestFingerprint } from "./idempotency";
import { adminRequest, createAccount, expectError, jsonInit, testEnv, withNewKey, type TestAccount } from "../../test/helpers/api";
import { fundedAccount, TRAINING_PRICE, trainingBody, usageOf } from "../../test/helpers/billing";

function withKey(key: string, body: unknown): RequestInit {
  const init = jsonInit("POST", body);
  return { ...init, headers: { ...init.headers, "Idempotency-Key": `"${key}"` } };
}

const createSubject = (account: TestAccount, key: string, name = "Rex") =>
  account.request("/v1/subjects", withKey(key, { name, class_noun: "dog" }));

describe("Idempotency-Key", () => {
  it("replays the first answer, status and body, and charges once", async () => {
    const { account, subject } = await fundedAccount(10_000);
    const first = await account.request("/v1/trainings", withKey("train-1", trainingBody(subject.id)));
    expect(first.status).toBe(202);
    const firstBody = await first.text();
    const again = await account.request("/v1/trainings", withKey("train-1", trainingBody(subject.id)));
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(firstBody);
    const usage = await usageOf(account);
    expect(usage.balance).toBe(10_000 - TRAINING_PRICE);
    expect(usage.reservations).toHaveLength(1);
  });

  it("answers 422 to the same key with a different body, and scopes keys to the account", async () => {
    const account = await createAccount();
    expect((await createSubject(account, "sub-1")).status).toBe(201);
    await expectError(await createSubject(account, "sub-1", "Other"), 422, "idempotency_key_reused");
    const other = await createAccount();
    expect((await createSubject(other, "sub-1", "Other")).status).toBe(201);
  });

  it("answers 409 while the first request with the key is still running", async () => {
    const account = await createAccount();
    const body = JSON.stringify({ name: "Rex", class_noun: "dog" });
    // The first request has begun (its key is taken) and not finished.
    await accountStore(testEnv, account.accountId).beginIdempotent("live:busy", await requestFingerprint("POST", "/v1/subjects", body));
    await expectError(await createSubject(account, "busy"), 409, "idempotency_key_in_use");
  });

  it("forgets keys after 24 hours, does not store transient refusals, and rejects malformed keys", async () => {
    const account = await createAccount();
    const first = await (await createSubject(account, "old")).json<{ id: string }>();
    await runInDurableObject(accountStore(testEnv, account.accountId), (_, state) => {
      state.storage.sql.exec("UPDATE idempotency SET created_at = created_at - 86400001");
    });
    const second = await (await createSubject(account, "old")).json<{ id: string }>();
    expect(second.id).not.toBe(first.id);

    const { account: poor, subject } = await fundedAccount(1);
    await expectError(await poor.request("/v1/trainings", withKey("pay", trainingBody(subject.id))), 402);
    await adminRequest(`/accounts/${poor.accountId}/credits`, "POST", { amount: TRAINING_PRICE });
    expect((await poor.request("/v1/trainings", withKey("pay", trainingBody(subject.id)))).status).toBe(202);

    await expectError(await account.request("/v1/subjects", { ...withKey("x", {}), headers: { "Idempotency-Key": "" } }), 400);
  });

  it("scopes keys per key mode: a test request with a live request's key runs on its own and never replays the live answer", async () => {
    const live = await createAccount();
    const test = await withNewKey(live, "test");
    const liveSubject = await (await createSubject(live, "shared-key")).json<{ id: string; mode: string }>();
    const testAnswer = await createSubject(test, "shared-key");
    expect(testAnswer.status).toBe(201);
    expect(testAnswer.headers.get("idempotent-replayed")).toBeNull();
    const testSubject = await testAnswer.json<{ id: string; mode: string }>();
    expect(testSubject.id).not.toBe(liveSubject.id);
    expect([liveSubject.mode, testSubject.mode]).toEqual(["live", "test"]);
    // Each mode still replays its own.
    expect((await (await createSubject(test, "shared-key")).json<{ id: string }>()).id).toBe(testSubject.id);
    expect((await (await createSubject(live, "shared-key")).json<{ id: string }>()).id).toBe(liveSubject.id);
  });
});
