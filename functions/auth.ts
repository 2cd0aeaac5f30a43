/**
 * Bearer-key authentication for the public API. The key's SHA-256 addresses its
 * `ApiKeyDO`, which says which account it belongs to; the account id then scopes
 * every lookup a handler makes, so another account's ids simply are not found (404).
 * Malformed and unknown keys get the same 401, so the answer reveals nothing.
 */
import { createMiddleware } from "hono/factory";
import { apiKeyStore } from "./accounts/api-key-do.js";
import { hashApiKey, parseApiKey } from "./accounts/api-keys.js";
import { ApiError } from "./errors.js";
import type { AppEnv } from "./types.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) throw new ApiError(401, "unauthorized", "Missing Authorization: Bearer <api key>");
  const key = BEARER.exec(header)?.[1];
  if (!key || !parseApiKey(key)) throw new ApiError(401, "unauthorized", "Invalid API key");
  const record = await apiKeyStore(c.env, await hashApiKey(key)).lookup();
  if (!record) throw new ApiError(401, "unauthorized", "Invalid API key");
  c.set("accountId", record.account_id);
  c.set("keyMode", record.mode);
  await next();
});
