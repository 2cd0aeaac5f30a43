/**
 * `Idempotency-Key` on POST (IETF httpapi idempotency-key draft). The first request
 * with a key runs and its response is stored in the account's object; the same
 * key with the same request (method, path and body, fingerprinted with SHA-256)
 * gets that response replayed, status and body; with a different request a 422; while
 * the first is still running a 409. Server errors, 429s and 402s are not stored:
 * they are transient, and the client's retry with the same key should really run.
 * Nor is an answer marked `Cache-Control: no-store` (a new API key): a secret is
 * never written down, so a retry of such a request simply runs again. Keys are
 * scoped per key mode: a test request never replays (or blocks) a live one.
 */
import { createMiddleware } from "hono/factory";
import { toHex } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import type { AppEnv } from "../types.js";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** A Structured Field string (`"…"`, as the draft says) or, leniently, the bare token. */
const KEY_PATTERN = /^"?([\x21\x23-\x7e]{1,255})"?$/;
const TRANSIENT = new Set([402, 409, 429]);

export async function requestFingerprint(method: string, path: string, body: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${method} ${path}\n${body}`)));
}

export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header(IDEMPOTENCY_HEADER);
  if (c.req.method !== "POST" || header === undefined) return next();
  const clientKey = KEY_PATTERN.exec(header.trim())?.[1];
  if (!clientKey) throw new ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be a string of 1–255 visible characters");
  // The body is already read and bounded (`limitRequestBodies` runs first), so fingerprinting it buffers nothing new.
  const key = `${c.get("keyMode")}:${clientKey}`;
  const body = await c.req.raw.clone().text();
  const account = accountStore(c.env, c.get("accountId"));
  const begun = await account.beginIdempotent(key, await requestFingerprint(c.req.method, new URL(c.req.url).pathname, body));
  if (begun.kind === "mismatch") {
    throw new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request");
  }
  if (begun.kind === "in_flight") {
    throw new ApiError(409, "idempotency_key_in_use", "A request with this Idempotency-Key is still being processed");
  }
  if (begun.kind === "replay") {
    const { status, body: stored, content_type } = begun.response;
    return new Response(stored, {
      status,
      headers: { ...(content_type ? { "content-type": content_type } : {}), "Idempotent-Replayed": "true" },
    });
  }
  try {
    await next();
  } finally {
    const status = c.res.status;
    if (status >= 500 || TRANSIENT.has(status) || c.res.headers.get("cache-control")?.includes("no-store")) {
      await account.abandonIdempotent(key);
    } else {
      const stored = await c.res.clone().text();
      await account.completeIdempotent(key, { status, body: stored, content_type: c.res.headers.get("content-type") });
    }
  }
});
