/**
 * `npm run bench:billing`: what auth + rate limit + idempotency add to
 * `POST /v1/generations`, on the local runtime (workerd with local Durable Objects).
 * The same generations router runs twice, in the same isolate, called the same way
 * (`fetch(request, env, ctx)`): once behind the Worker's full middleware (key lookup
 * in its ApiKeyDO, the account's token bucket, an `Idempotency-Key` stored and
 * completed), once behind a middleware that only sets the account the key would
 * have resolved to. Requests alternate between the two so drift hits both alike;
 * the reservation of credits is part of the route and is in both. Prints a JSON line.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { expect, it } from "vitest";
import { hashApiKey } from "../../functions/accounts/api-keys";
import app from "../../functions/index";
import { onError } from "../../functions/errors";
import { jobStore } from "../../functions/jobs/job-do";
import { generations } from "../../functions/routes/generations";
import type { AppEnv } from "../../functions/types";
import { adminRequest, BASE, createAccount, jsonInit } from "../helpers/api";
import { readySubject, waitFor } from "../helpers/jobs";

const ROUNDS = 150;
const WARMUP = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, x) => sum + x, 0) / samples.length;
  return { n: samples.length, mean_ms: +mean.toFixed(3), p50_ms: +percentile(sorted, 50).toFixed(3), p90_ms: +percentile(sorted, 90).toFixed(3) };
}

it("measures the billing middleware's added latency on POST /v1/generations", async () => {
  const account = await createAccount("live", { credits: 10_000_000 });
  expect((await adminRequest(`/accounts/${account.accountId}`, "PATCH", { plan: "scale" })).status).toBe(200);
  const subject = await readySubject(account);
  const training = await (
    await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "fake", params: { steps: 2, prior_preservation: { enabled: false } } }))
  ).json<{ id: string }>();
  await waitFor(account, `/v1/trainings/${training.id}`, (job) => job.status === "succeeded");

  const keyHash = await hashApiKey(account.apiKey);
  const bare = new Hono<AppEnv>();
  bare.onError(onError);
  bare.use("/v1/*", async (c, next) => {
    c.set("accountId", account.accountId);
    c.set("keyMode", "live");
    c.set("keyHash", keyHash);
    await next();
  });
  bare.route("/v1/generations", generations);

  const body = JSON.stringify({ training_id: training.id, prompt: "a photo of {subject} on the moon" });
  const samples = { full: [] as number[], bare: [] as number[] };
  let round = 0;
  async function post(kind: "full" | "bare") {
    const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${account.apiKey}` };
    if (kind === "full") headers["idempotency-key"] = `"bench-${round++}"`;
    const request = new Request(`${BASE}/v1/generations`, { method: "POST", headers, body });
    const ctx = createExecutionContext();
    const started = performance.now();
    const response = await (kind === "full" ? app : bare).fetch(request, env, ctx);
    const elapsed = performance.now() - started;
    await waitOnExecutionContext(ctx);
    expect(response.status, await response.clone().text()).toBe(202);
    // Ended at once, outside the timing, so the plan's concurrent jobs never run out.
    await jobStore(env, (await response.json<{ id: string }>()).id).cancel();
    return elapsed;
  }
  for (let i = 0; i < WARMUP; i++) await post(i % 2 ? "full" : "bare");
  for (let i = 0; i < ROUNDS; i++) {
    samples.full.push(await post("full"));
    samples.bare.push(await post("bare"));
    // Below the scale plan's 200 requests/s, so the bucket measures its cost without refusing.
    await new Promise((resolve) => setTimeout(resolve, 6));
  }
  const full = stats(samples.full);
  const without = stats(samples.bare);
  const result = {
    route: "POST /v1/generations",
    with_auth_rate_limit_idempotency: full,
    route_alone: without,
    added_p50_ms: +(full.p50_ms - without.p50_ms).toFixed(3),
    ratio_p50: +(full.p50_ms / without.p50_ms).toFixed(2),
    ratio_mean: +(full.mean_ms / without.mean_ms).toFixed(2),
  };
  console.log(JSON.stringify(result));
  expect(full.n).toBe(ROUNDS);
});
