/**
 * Bearer-key authentication for the public API. The key's SHA-256 addresses its
 * `ApiKeyDO`, which says which account it belongs to; the account id then scopes
 * every lookup a handler makes, so another account's ids simply are not found (404).
 * Malformed and unknown keys get the same 401, so the answer reveals nothing.
 *
 * Before any object is asked, the Workers Rate Limiting binding (a per-location
 * counter, no storage round trip) turns away a flood from one key, so a runaway
 * client cannot monopolise its account's object; the exact per-plan limits come
 * after, in `rate-limit.ts`. A key's account, once looked up, is remembered by the
 * isolate (`key-cache.ts`); the account's key list still refuses a revoked key.
 */
import { createMiddleware } from "hono/factory";
import { apiKeyStore } from "./accounts/api-key-do.js";
import { cachedKey, rememberKey } from "./accounts/key-cache.js";
import { hashApiKey, parseApiKey } from "./accounts/api-keys.js";
import { ApiError } from "./errors.js";
import type { AppEnv } from "./types.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** The binding's window (wrangler.toml `[[ratelimits]]`), said in Retry-After when it trips. */
const GLOBAL_GUARD_PERIOD_S = 10;

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) throw new ApiError(401, "unauthorized", "Missing Authorization: Bearer <api key>");
  const key = BEARER.exec(header)?.[1];
  if (!key || !parseApiKey(key)) throw new ApiError(401, "unauthorized", "Invalid API key");
  const keyHash = await hashApiKey(key);
  const { success } = await c.env.GLOBAL_RATE_LIMITER.limit({ key: keyHash });
  if (!success) {
    c.header("Retry-After", String(GLOBAL_GUARD_PERIOD_S));
    throw new ApiError(429, "rate_limited", "Too many requests with this key; slow down");
  }
  const record = cachedKey(keyHash) ?? (await apiKeyStore(c.env, keyHash).lookup());
  if (!record) throw new ApiError(401, "unauthorized", "Invalid API key");
  rememberKey(keyHash, record);
  c.set("accountId", record.account_id);
  c.set("keyMode", record.mode);
  c.set("keyHash", keyHash);
  await next();
});
