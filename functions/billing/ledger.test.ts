import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountStore } from "../accounts/account-do";
import { startChargedJob } from "./charges";
import { PRICES } from "./pricing";
import type { NewJobRecord } from "../jobs/record";
import { newId } from "../../shared/index";
import { createAccount, expectError, jsonInit, withNewKey } from "../../test/helpers/api";
import { readySubject, sendEvent, waitFor } from "../../test/helpers/jobs";
import { dispatchedTraining, fundedAccount, STEPS, TRAINING_PRICE, trainingBody, usageOf } from "../../test/helpers/billing";

describe("credits ledger (AccountDO)", () => {
  it("reserves, then settles or releases exactly once whatever order and how often the outcome arrives", async () => {
    const account = accountStore(env, newId("account"));
    await account.grantCredits(1000, "test");
    expect(await account.reserve({ id: "trn_a", kind: "train" }, 300)).toMatchObject({ ok: true, balance: 700 });
    expect(await account.reserve({ id: "trn_a", kind: "train" }, 300)).toMatchObject({ ok: true, balance: 700 });
    expect(await account.reserve({ id: "gen_b", kind: "generate" }, 100)).toMatchObject({ ok: true, balance: 600 });
    await account.finishJob("trn_a", "settle");
    await account.finishJob("trn_a", "settle");
    await account.finishJob("trn_a", "release");
    await account.finishJob("gen_b", "release");
    await account.finishJob("gen_b", "settle");
    const usage = await account.usage({ limit: 100 });
    expect(usage).toMatchObject({ balance: 700, reserved: 0, reservations: [] });
    expect(usage.ledger.items.map((entry) => [entry.type, entry.job_id, entry.amount])).toEqual([
      ["release", "gen_b", 100],
      ["settle", "trn_a", 0],
      ["reserve", "gen_b", -100],
      ["reserve", "trn_a", -300],
      ["grant", null, 1000],
    ]);
    expect(usage.ledger.items.reduce((sum, entry) => sum + entry.amount, 0)).toBe(usage.balance);
  });

  it("refuses a price above the balance, naming both, and never goes negative when reserves race", async () => {
    const account = accountStore(env, newId("account"));
    await account.grantCredits(250, null);
    expect(await account.reserve({ id: "trn_big", kind: "train" }, 251)).toMatchObject({
      ok: false,
      reason: "insufficient_credits",
      balance: 250,
      price: 251,
    });
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => account.reserve({ id: `gen_${i}`, kind: "generate" }, 100)));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(2);
    expect((await account.usage({ limit: 1 })).balance).toBe(50);
  });
});

describe("starting a charged job", () => {
  it("releases the reservation when creating the job fails, and keeps it when creating succeeds", async () => {
    const accountId = newId("account");
    const account = accountStore(env, accountId);
    await account.grantCredits(1000, "test");
    const caller = { env, accountId, keyMode: "live" as const };
    const record = (id: string) => ({ id, kind: "generate", account_id: accountId, params: { num_images: 2 } }) as unknown as NewJobRecord;
    const price = PRICES.generation.per_image * 2;

    const failing = startChargedJob(caller, record("gen_fails"), async () => {
      throw new Error("Durable Object reset");
    });
    await expect(failing).rejects.toThrow("Durable Object reset");
    expect(await account.usage({ limit: 10 })).toMatchObject({ balance: 1000, reserved: 0, reservations: [] });

    expect(await startChargedJob(caller, record("gen_ok"), async (charged) => charged.id)).toBe("gen_ok");
    const usage = await account.usage({ limit: 10 });
    expect(usage).toMatchObject({ balance: 1000 - price, reservations: [{ job_id: "gen_ok", amount: price }] });
    expect(usage.ledger.items.map((entry) => [entry.type, entry.job_id])).toEqual([
      ["reserve", "gen_ok"],
      ["release", "gen_fails"],
      ["reserve", "gen_fails"],
      ["grant", null],
    ]);
  });
});

describe("charging jobs through the API", () => {
  it("charges a training once: duplicated and reordered terminal events leave the balance exact", async () => {
    const { account, subject } = await fundedAccount(10_000);
    const id = await dispatchedTraining(account, subject.id);
    expect(await usageOf(account)).toMatchObject({ balance: 10_000 - TRAINING_PRICE, reserved: TRAINING_PRICE });
    expect((await sendEvent(id, { attempt: 1, seq: 5, type: "succeeded" })).status).toBe(200);
    await sendEvent(id, { attempt: 1, seq: 5, type: "succeeded" });
    await sendEvent(id, { attempt: 1, seq: 6, type: "failed", code: "late", message: "arrives after the success", retryable: false });
    await sendEvent(id, { attempt: 1, seq: 1, type: "progress", phase: "training", step: 1, total_steps: STEPS });
    const usage = await usageOf(account);
    expect(usage).toMatchObject({ balance: 10_000 - TRAINING_PRICE, reserved: 0, reservations: [] });
    expect(usage.ledger.items.filter((entry) => entry.job_id === id).map((entry) => entry.type)).toEqual(["settle", "reserve"]);
  });

  it("charges a retried job once and refunds failed and canceled jobs", async () => {
    const { account, subject } = await fundedAccount(10_000);
    const retried = await dispatchedTraining(account, subject.id);
    await sendEvent(retried, { attempt: 1, seq: 0, type: "failed", code: "oom", message: "retry me", retryable: true });
    await waitFor(account, `/v1/trainings/${retried}`, (job) => job.attempt === 2 && job.status === "dispatched");
    await sendEvent(retried, { attempt: 2, seq: 0, type: "succeeded" });
    await sendEvent(retried, { attempt: 1, seq: 1, type: "succeeded" });

    const failed = await dispatchedTraining(account, subject.id);
    await sendEvent(failed, { attempt: 1, seq: 0, type: "failed", code: "bad", message: "no retry", retryable: false });
    await sendEvent(failed, { attempt: 1, seq: 0, type: "failed", code: "bad", message: "no retry", retryable: false });

    const canceled = await dispatchedTraining(account, subject.id);
    expect((await account.request(`/v1/trainings/${canceled}/cancel`, { method: "POST" })).status).toBe(202);
    await sendEvent(canceled, { attempt: 1, seq: 0, type: "succeeded" });

    const usage = await usageOf(account);
    expect(usage).toMatchObject({ balance: 10_000 - TRAINING_PRICE, reserved: 0 });
    const types = (job: string) => usage.ledger.items.filter((entry) => entry.job_id === job).map((entry) => entry.type);
    expect(types(retried)).toEqual(["settle", "reserve"]);
    expect(types(failed)).toEqual(["release", "reserve"]);
    expect(types(canceled)).toEqual(["release", "reserve"]);
  });

  it("answers 402 with balance and price, and racing creates for the last credits start exactly one job", async () => {
    const { account, subject } = await fundedAccount(TRAINING_PRICE + 10);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => account.request("/v1/trainings", jsonInit("POST", trainingBody(subject.id)))),
    );
    expect(responses.filter((response) => response.status === 202)).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 202)) {
      const error = await expectError(response, 402, "insufficient_credits");
      expect(error.details).toEqual({ balance: 10, price: TRAINING_PRICE });
      expect(error.message).toContain(`npm run admin -- grant ${account.accountId} ${TRAINING_PRICE - 10}`);
    }
    const usage = await usageOf(account);
    expect(usage.balance).toBe(10);
    expect(usage.ledger.items.every((entry) => entry.balance_after >= 0)).toBe(true);
  });

  it("pages the ledger newest first, each job entry naming its job", async () => {
    const { account, subject } = await fundedAccount(10_000);
    const id = await dispatchedTraining(account, subject.id);
    const first = await usageOf(account, "?limit=1");
    expect(first.ledger.items).toEqual([expect.objectContaining({ type: "reserve", job_id: id, amount: -TRAINING_PRICE })]);
    const rest = await usageOf(account, `?limit=5&cursor=${first.ledger.next_cursor}`);
    expect(rest.ledger).toEqual({ items: [expect.objectContaining({ type: "grant", job_id: null, amount: 10_000 })], next_cursor: null });
  });

  it("lets test keys run on the fake backend for free", async () => {
    const owner = await createAccount("live", { credits: 0 });
    const account = await withNewKey(owner, "test");
    const subject = await readySubject(account);
    const response = await account.request("/v1/trainings", jsonInit("POST", trainingBody(subject.id)));
    expect(response.status).toBe(202);
    const job = await response.json<{ id: string; backend: string }>();
    expect(job.backend).toBe("fake");
    await waitFor(account, `/v1/trainings/${job.id}`, (training) => training.status === "succeeded");
    // Credits are live data: the account's live key reads them.
    const usage = await usageOf(owner);
    expect(usage.balance).toBe(0);
    expect(usage.ledger.items.map((entry) => entry.amount)).toEqual([0, 0]);
  });
});
