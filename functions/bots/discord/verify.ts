/**
 * Discord signs every interaction with the application's Ed25519 key over
 * `X-Signature-Timestamp + raw body` and probes endpoints with bad signatures,
 * expecting 401. Verification uses WebCrypto's Ed25519 (workerd implements it);
 * timestamps far from now are refused too, so a captured request cannot be replayed.
 */

export const DISCORD_SIGNATURE_TOLERANCE_S = 300;

const HEX = /^(?:[0-9a-f]{2})+$/i;

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export async function verifyDiscordSignature(
  publicKeyHex: string,
  signatureHex: string | undefined,
  timestamp: string | undefined,
  rawBody: string,
  nowMs: number = Date.now(),
): Promise<boolean> {
  if (!signatureHex || !timestamp || !HEX.test(signatureHex) || signatureHex.length !== 128 || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > DISCORD_SIGNATURE_TOLERANCE_S) return false;
  if (!HEX.test(publicKeyHex) || publicKeyHex.length !== 64) return false;
  const key = await crypto.subtle.importKey("raw", fromHex(publicKeyHex), { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify("Ed25519", key, fromHex(signatureHex), new TextEncoder().encode(timestamp + rawBody));
}

