/** Billing test helpers: a live account with an exact balance, usage, and a training started on the container backend. */
import { expect } from "vitest";
import { PRICES } from "../../functions/billing/pricing.js";
import { adminRequest, createAccount, jsonInit, type TestAccount } from "./api.js";
import { readySubject, waitFor } from "./jobs.js";

export const STEPS = 50;
export const TRAINING_PRICE = PRICES.training.lora.base + PRICES.training.lora.per_step * STEPS;

export type UsageJson = {
  balance: number;
  reserved: number;
  reservations: { job_id: string; amount: number; state: string }[];
  ledger: { items: { type: string; job_id: string | null; amount: number; balance_after: number }[]; next_cursor: string | null };
};

export async function usageOf(account: TestAccount, query = ""): Promise<UsageJson> {
  const response = await account.request(`/v1/usage${query}`);
  expect(response.status).toBe(200);
  return response.json<UsageJson>();
}

/** A live account holding exactly `credits`, with one finalized subject. */
export async function fundedAccount(credits: number, plan?: "free" | "standard" | "scale") {
  const account = await createAccount("live", { credits });
  const subject = await readySubject(account);
  if (plan) expect((await adminRequest(`/accounts/${account.accountId}`, "PATCH", { plan })).status).toBe(200);
  return { account, subject };
}

export function trainingBody(subjectId: string, extra: Record<string, unknown> = {}) {
  return { subject_id: subjectId, backend: "container", params: { steps: STEPS, prior_preservation: { enabled: false } }, ...extra };
}

/** Starts a container-backend training and waits until the fake GPU intake accepted it. */
export async function dispatchedTraining(account: TestAccount, subjectId: string): Promise<string> {
  const response = await account.request("/v1/trainings", jsonInit("POST", trainingBody(subjectId)));
  expect(response.status).toBe(202);
  const { id } = await response.json<{ id: string }>();
  await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "dispatched");
  return id;
}
