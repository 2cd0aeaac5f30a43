/**
 * Per-key rate limit, decided by the account's Durable Object (a token bucket per
 * key, sized by the account's plan), which also refuses a revoked key at once.
 * Every answer carries the IETF httpapi ratelimit-headers fields — `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` — and a refusal
 * is a 429 with `Retry-After`, so a well-behaved client never has to guess.
 */
import { createMiddleware } from "hono/factory";
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import type { AppEnv } from "../types.js";

export const enforceRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const admission = await accountStore(c.env, c.get("accountId")).admit(c.get("keyHash"));
  if (admission.kind === "revoked") throw new ApiError(401, "unauthorized", "Invalid API key");
  const headers = {
    "RateLimit-Limit": String(admission.limit),
    "RateLimit-Remaining": String(admission.remaining),
    "RateLimit-Reset": String(admission.reset_s),
    "RateLimit-Policy": `${admission.limit};w=${admission.window_s}`,
  };
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (!admission.allowed) {
    c.header("Retry-After", String(admission.retry_after_s));
    throw new ApiError(429, "rate_limited", `Rate limit of this key exceeded; retry in ${admission.retry_after_s} s`, {
      retry_after_s: admission.retry_after_s,
    });
  }
  await next();
});
