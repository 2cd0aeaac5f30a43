import { describe, expect, it } from "vitest";
import { hashApiKey } from "../accounts/api-keys";
import { takeToken } from "./plans";
import { adminRequest, createAccount, expectError, jsonInit, testEnv } from "../../test/helpers/api";
import { fundedAccount, trainingBody } from "../../test/helpers/billing";

const plan = { requests_per_s: 2, burst: 3, concurrent_jobs: 1 };

describe("token bucket", () => {
  it("allows the burst, then one request per 1/rate seconds, and says when to retry", () => {
    let bucket = null;
    for (let i = 0; i < 3; i++) {
      const decision = takeToken(bucket, plan, 1000);
      expect(decision).toMatchObject({ allowed: true, remaining: 2 - i });
      bucket = decision.bucket;
    }
    expect(takeToken(bucket, plan, 1000)).toMatchObject({ allowed: false, remaining: 0, retry_after_s: 1 });
    expect(takeToken(bucket, plan, 1500)).toMatchObject({ allowed: true, remaining: 0 });
    expect(takeToken(bucket, plan, 60_000)).toMatchObject({ allowed: true, remaining: 2, reset_s: 1 });
  });
});

describe("rate limits", () => {
  it("answers 429 with Retry-After and RateLimit-* headers once a key's bucket is empty", async () => {
    const { account } = await fundedAccount(0, "free");
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await account.request("/v1/subjects"));
    const ok = answers.filter((response) => response.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(ok[0].headers.get("ratelimit-limit")).toBe("5");
    expect(ok[0].headers.get("ratelimit-policy")).toBe("5;w=3");
    expect(Number(ok[1].headers.get("ratelimit-remaining"))).toBeLessThan(Number(ok[0].headers.get("ratelimit-remaining")));
    const limited = answers.at(-1)!;
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await expectError(limited, 429, "rate_limited");
  });

  it("answers 429 when the plan's concurrent jobs are all running", async () => {
    const { account, subject } = await fundedAccount(100_000, "free");
    await new Promise((resolve) => setTimeout(resolve, 2600)); // let the free plan's bucket refill
    expect((await account.request("/v1/trainings", jsonInit("POST", trainingBody(subject.id)))).status).toBe(202);
    const refused = await account.request("/v1/trainings", jsonInit("POST", trainingBody(subject.id)));
    expect(refused.headers.get("retry-after")).toBe("30");
    const error = await expectError(refused, 429, "concurrency_limit");
    expect(error.details).toEqual({ running: 1, limit: 1 });
    expect((await adminRequest(`/accounts/${account.accountId}`, "PATCH", { plan: "standard" })).status).toBe(200);
    expect((await account.request("/v1/trainings", jsonInit("POST", trainingBody(subject.id)))).status).toBe(202);
  });
});

describe("reads decided while their handler runs", () => {
  it("answers a refused read with the refusal alone: 429 beats the handler's 404, 401 hides the job it read", async () => {
    const { account, subject } = await fundedAccount(100_000, "free");
    await new Promise((resolve) => setTimeout(resolve, 2600)); // let the free plan's bucket refill
    const started = await account.request("/v1/trainings", jsonInit("POST", trainingBody(subject.id)));
    expect(started.status).toBe(202);
    const { id } = await started.json<{ id: string }>();
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await account.request("/v1/trainings/trn_missing"));
    expect(answers.map((response) => response.status)).toContain(404);
    await expectError(answers.at(-1)!, 429, "rate_limited");
    await new Promise((resolve) => setTimeout(resolve, 2600));
    const keys = await (await account.request("/v1/keys")).json<{ items: { id: string }[] }>();
    expect((await account.request(`/v1/keys/${keys.items[0].id}`, { method: "DELETE" })).status).toBe(200);
    const refused = await account.request(`/v1/trainings/${id}`);
    const text = await refused.clone().text();
    await expectError(refused, 401, "unauthorized");
    expect(text).not.toContain(id);
    expect(refused.headers.get("ratelimit-limit")).toBeNull();
  }, 15_000);
});

describe("global guard", () => {
  it("turns a key away with 429 once the Rate Limiting binding's window is spent, before its account is asked", async () => {
    const account = await createAccount();
    const key = await hashApiKey(account.apiKey);
    // wrangler.toml allows 30000 per 10 s per key; spend them on the binding itself rather than over HTTP.
    let allowed = 0;
    while (allowed < 60_000 && (await testEnv.GLOBAL_RATE_LIMITER.limit({ key })).success) allowed++;
    expect(allowed).toBeLessThanOrEqual(30_000);
    const refused = await account.request("/v1/subjects");
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(refused.headers.get("ratelimit-remaining")).toBeNull();
    await expectError(refused, 429, "rate_limited");
    const other = await createAccount();
    expect((await other.request("/v1/subjects")).status).toBe(200);
  });
});
