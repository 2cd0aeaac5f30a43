/**
 * Verification of Replicate's webhook signatures, which follow the Standard
 * Webhooks scheme: `webhook-signature` holds one or more space-separated
 * `v1,<base64 HMAC-SHA256>` entries over `${webhook-id}.${webhook-timestamp}.${rawBody}`,
 * keyed with the base64 bytes after the `whsec_` prefix of the signing secret.
 *
 * The client library's `validateWebhook` checks the MAC only; we also refuse a
 * timestamp more than five minutes from our clock, so a captured delivery cannot
 * be replayed later, and compare in constant time. Web Crypto only.
 */
import { timingSafeEqual } from "../../../shared/index.js";

export const WEBHOOK_TOLERANCE_S = 300;

export interface WebhookHeaders {
  id: string | null | undefined;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
}

export type WebhookCheckFailure = "missing" | "malformed" | "stale" | "mismatch";
export type WebhookCheck = { ok: true } | { ok: false; reason: WebhookCheckFailure };

const encoder = new TextEncoder();

/** The HMAC key of a `whsec_…` secret: its base64 payload, decoded. */
function webhookSecretBytes(secret: string): Uint8Array {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  return Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0));
}

function toBase64(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The base64 signature Replicate would send for this delivery. */
export async function webhookSignature(secret: string, id: string, timestamp: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", webhookSecretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toBase64(await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`)));
}

export async function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string,
  nowMs: number = Date.now(),
): Promise<WebhookCheck> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed" };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_S) return { ok: false, reason: "stale" };
  let expected: string;
  try {
    expected = await webhookSignature(secret, id, timestamp, body);
  } catch {
    // A secret that is not base64 can never have signed anything.
    return { ok: false, reason: "mismatch" };
  }
  const candidates = signature
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => entry.slice("v1,".length));
  // Every candidate is compared, so the time taken does not reveal which one matched.
  let matched = false;
  for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
  return matched ? { ok: true } : { ok: false, reason: "mismatch" };
}
