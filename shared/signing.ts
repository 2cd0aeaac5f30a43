/**
 * HMAC-SHA256 request signing between the Worker and a GPU backend, in both
 * directions (job dispatch, progress events, upload-slot requests).
 *
 * The signed string is `${timestamp}.${rawBody}` (timestamp in Unix seconds), the
 * scheme Stripe and Standard Webhooks use: binding the timestamp into the MAC
 * makes a captured request useless after the tolerance window. Verification is
 * constant-time. Web Crypto only, so the same module runs in workerd and Node.
 */
export const SIGNATURE_HEADER = "x-dbe-signature";
export const TIMESTAMP_HEADER = "x-dbe-timestamp";
export const SIGNATURE_TOLERANCE_S = 300;

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const byte of view) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

export async function signPayload(secret: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${timestamp}.${body}`));
  return `v1=${toHex(mac)}`;
}

/** Headers to attach to a signed request whose body is `body`. */
export async function signedHeaders(
  secret: string,
  body: string,
  nowMs: number = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: await signPayload(secret, timestamp, body),
  };
}

export type SignatureFailure = "missing" | "malformed" | "stale" | "mismatch";
export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

export async function verifySignature(
  secret: string,
  body: string,
  timestampHeader: string | null | undefined,
  signatureHeader: string | null | undefined,
  nowMs: number = Date.now(),
): Promise<SignatureCheck> {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: "malformed" };
  const timestamp = Number(timestampHeader);
  if (Math.abs(nowMs / 1000 - timestamp) > SIGNATURE_TOLERANCE_S) return { ok: false, reason: "stale" };
  const expected = await signPayload(secret, timestamp, body);
  return timingSafeEqual(expected, signatureHeader) ? { ok: true } : { ok: false, reason: "mismatch" };
}
