/**
 * Slack signs each request as `v0=` HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`)
 * in `X-Slack-Signature`, with the timestamp in `X-Slack-Request-Timestamp`. Requests
 * more than five minutes off are refused (replays), and the comparison is constant-time.
 */
import type { Context } from "hono";
import { toHex, timingSafeEqual } from "../../../shared/index.js";
import { ApiError } from "../../errors.js";
import { requireSecret } from "../../secrets.js";
import type { AppEnv } from "../../types.js";

export const SLACK_SIGNATURE_TOLERANCE_S = 300;

export async function slackSignature(secret: string, timestamp: string, rawBody: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `v0=${toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(`v0:${timestamp}:${rawBody}`)))}`;
}

export async function verifySlackSignature(
  secret: string,
  signature: string | undefined,
  timestamp: string | undefined,
  rawBody: string,
  nowMs: number = Date.now(),
): Promise<boolean> {
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_SIGNATURE_TOLERANCE_S) return false;
  return timingSafeEqual(signature, await slackSignature(secret, timestamp, rawBody));
}

/** The raw body of a request Slack really sent; 503 without the secret, 401 for a bad signature. */
export async function verifiedSlackBody(c: Context<AppEnv>): Promise<string> {
  const secret = requireSecret(c.env, "SLACK_SIGNING_SECRET");
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  const signed = await verifySlackSignature(secret, c.req.header("x-slack-signature"), c.req.header("x-slack-request-timestamp"), raw);
  if (!signed) throw new ApiError(401, "invalid_signature", "Missing, stale or invalid Slack request signature");
  return raw;
}
