/**
 * What starting a job costs the account: reserve its price in the account's ledger
 * (402 when the balance is short, 429 when the plan's concurrent jobs are all
 * running) and fill in the account's default webhook (live jobs only). Test keys cost
 * nothing; their jobs still count toward concurrency. (Which backend a job runs on, test keys
 * included, is `backends/choose.ts`'s decision, made before this.)
 */
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import type { NewJobRecord } from "../jobs/record.js";
import type { Caller } from "../caller.js";
import { priceOf } from "./pricing.js";
import { allowsPrivateWebhooks, webhookUrlProblem } from "./webhook-url.js";

export function checkWebhookUrl(env: Env, url: string): void {
  const problem = webhookUrlProblem(url, allowsPrivateWebhooks(env));
  if (problem) throw new ApiError(400, "invalid_webhook_url", `webhook_url ${problem}`);
}

export async function reserveCharge<R extends NewJobRecord>(caller: Caller, record: R): Promise<R> {
  if (record.webhook_url) checkWebhookUrl(caller.env, record.webhook_url);
  const mode = caller.keyMode;
  const price = priceOf(record, mode);
  const outcome = await accountStore(caller.env, caller.accountId).reserve({ id: record.id, kind: record.kind }, price);
  if (!outcome.ok && outcome.reason === "insufficient_credits") {
    // Credits come only from the operator, so the answer says which command adds them (docs/billing.md).
    const grant = `npm run admin -- grant ${caller.accountId} ${outcome.price - outcome.balance}`;
    const message = `This job costs ${outcome.price} credits; the balance is ${outcome.balance}. The service's operator adds credits with: ${grant}`;
    throw new ApiError(402, "insufficient_credits", message, {
      balance: outcome.balance,
      price: outcome.price,
    });
  }
  if (!outcome.ok) {
    throw new ApiError(
      429,
      "concurrency_limit",
      `The plan allows ${outcome.limit} running jobs; ${outcome.running} are running`,
      { running: outcome.running, limit: outcome.limit },
      { "Retry-After": "30" },
    );
  }
  // The account's default webhook is a live setting; a test job is heard of only where its request says.
  const webhookUrl = record.webhook_url ?? (mode === "live" ? outcome.webhook_url : null) ?? undefined;
  return webhookUrl ? { ...record, webhook_url: webhookUrl } : record;
}

/**
 * Reserves the job's price, then creates the job with the record reserveCharge returned. If creating
 * fails (a Durable Object error, a storage outage), the reservation is released before the error goes
 * on, so a job that never existed holds no credits and no concurrency slot.
 */
export async function startChargedJob<R extends NewJobRecord, T>(caller: Caller, record: R, create: (charged: R) => Promise<T>): Promise<T> {
  const charged = await reserveCharge(caller, record);
  try {
    return await create(charged);
  } catch (error) {
    await accountStore(caller.env, caller.accountId).finishJob(record.id, "release");
    throw error;
  }
}

/** Settles a job's reservation when it succeeded, releases it otherwise; a no-op after the first time. */
export async function finishCharge(env: Env, record: { id: string; account_id: string; status: string }): Promise<void> {
  await accountStore(env, record.account_id).finishJob(record.id, record.status === "succeeded" ? "settle" : "release");
}
