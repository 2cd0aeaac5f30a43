/**
 * Per-key rate limit, decided by the account's Durable Object (a token bucket per
 * key, sized by the account's plan), which also refuses a revoked key at once.
 * Every answer carries the IETF httpapi ratelimit-headers fields — `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` — and a refusal
 * is a 429 with `Retry-After`, so a well-behaved client never has to guess.
 *
 * A read (GET/HEAD) does not wait for the admission before it starts: the account's
 * answer and the handler's own lookup (the job's object, say) run at the same time,
 * so a status read costs the slower of the two round trips, not their sum. Nothing
 * leaves before the admission has been read: a refused read answers 401/429 and its
 * handler's response, body included, is thrown away unread. Writes keep the strict
 * order (admitted first, then the handler), since a write's handler has effects.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { accountStore } from "../accounts/account-do.js";
import type { Admission } from "../accounts/key-registry.js";
import { ApiError } from "../errors.js";
import type { AppEnv } from "../types.js";

/** Methods whose handlers only read, so they may run while the admission is decided. */
const READS = new Set(["GET", "HEAD"]);

export const enforceRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const admitted = accountStore(c.env, c.get("accountId")).admit(c.get("keyHash"));
  if (!READS.has(c.req.method)) {
    const admission = await admitted;
    throwIfRefused(admission);
    setLimitHeaders(c, admission);
    await next();
    return;
  }
  // Hono turns a handler's error into its response inside next(), so this settles with the response set.
  const [admission, handled] = await Promise.allSettled([admitted, next()]);
  if (admission.status === "rejected" || isRefused(admission.value)) {
    // Forget the handler's answer unread, so none of it (body or headers) reaches the refusal.
    await c.res.body?.cancel().catch(() => undefined);
    c.res = undefined as unknown as Response;
  }
  if (admission.status === "rejected") throw admission.reason;
  throwIfRefused(admission.value);
  if (handled.status === "rejected") throw handled.reason;
  setLimitHeaders(c, admission.value);
});

function isRefused(admission: Admission): boolean {
  return admission.kind === "revoked" || !admission.allowed;
}

function limitHeaders(admission: Exclude<Admission, { kind: "revoked" }>): Record<string, string> {
  return {
    "RateLimit-Limit": String(admission.limit),
    "RateLimit-Remaining": String(admission.remaining),
    "RateLimit-Reset": String(admission.reset_s),
    "RateLimit-Policy": `${admission.limit};w=${admission.window_s}`,
  };
}

function setLimitHeaders(c: Context<AppEnv>, admission: Exclude<Admission, { kind: "revoked" }>): void {
  for (const [name, value] of Object.entries(limitHeaders(admission))) c.header(name, value);
}

/** A revoked key is a 401; a spent bucket a 429 with Retry-After and the limit's headers. */
function throwIfRefused(admission: Admission): asserts admission is Exclude<Admission, { kind: "revoked" }> {
  if (admission.kind === "revoked") throw new ApiError(401, "unauthorized", "Invalid API key");
  if (!admission.allowed) {
    throw new ApiError(
      429,
      "rate_limited",
      `Rate limit of this key exceeded; retry in ${admission.retry_after_s} s`,
      { retry_after_s: admission.retry_after_s },
      { ...limitHeaders(admission), "Retry-After": String(admission.retry_after_s) },
    );
  }
}
