import { validateWebhook } from "replicate";
import { describe, expect, it } from "vitest";
import { verifyWebhook, webhookSignature } from "./webhook-signature.js";

const secret = `whsec_${btoa("a 24-byte signing secret")}`;
const body = JSON.stringify({ id: "ufawqhfynnddngldkgtslldrkq", status: "succeeded" });
const now = 1_700_000_000_000;
const timestamp = String(now / 1000);
const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";

/** Standard Webhooks signing written out step by step, apart from the module under test. */
async function referenceSignature(messageId: string, ts: string, payload: string, key = secret): Promise<string> {
  const keyBytes = Uint8Array.from(atob(key.slice("whsec_".length)), (char) => char.charCodeAt(0));
  const hmacKey = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(`${messageId}.${ts}.${payload}`)));
  return btoa(String.fromCharCode(...mac));
}

describe("Replicate webhook signature", () => {
  it("matches a step-by-step HMAC and the replicate client's validateWebhook", async () => {
    const signature = await webhookSignature(secret, id, timestamp, body);
    expect(signature).toBe(await referenceSignature(id, timestamp, body));
    expect(await validateWebhook({ id, timestamp, signature: `v1,${signature}`, body, secret })).toBe(true);
  });

  it("accepts a valid signature among several, as key rotation sends them", async () => {
    const good = `v1,${await referenceSignature(id, timestamp, body)}`;
    const other = `v1,${await referenceSignature(id, timestamp, body, `whsec_${btoa("the previous secret key")}`)}`;
    const check = await verifyWebhook(secret, { id, timestamp, signature: `${other} ${good}` }, body, now);
    expect(check).toEqual({ ok: true });
  });

  it("rejects timestamps more than five minutes off in either direction", async () => {
    const signature = `v1,${await referenceSignature(id, timestamp, body)}`;
    const headers = { id, timestamp, signature };
    expect(await verifyWebhook(secret, headers, body, now + 299_000)).toEqual({ ok: true });
    expect(await verifyWebhook(secret, headers, body, now + 301_000)).toEqual({ ok: false, reason: "stale" });
    expect(await verifyWebhook(secret, headers, body, now - 301_000)).toEqual({ ok: false, reason: "stale" });
  });

  it("rejects missing, malformed, tampered, re-addressed and wrong-secret deliveries", async () => {
    const signature = `v1,${await referenceSignature(id, timestamp, body)}`;
    expect(await verifyWebhook(secret, { id: null, timestamp, signature }, body, now)).toEqual({ ok: false, reason: "missing" });
    expect(await verifyWebhook(secret, { id, timestamp: "1e9", signature }, body, now)).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(await verifyWebhook(secret, { id, timestamp, signature }, `${body} `, now)).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhook(secret, { id: "msg_other", timestamp, signature }, body, now)).toEqual({
      ok: false,
      reason: "mismatch",
    });
    const wrongSecret = `whsec_${btoa("somebody else's secret!!")}`;
    expect(await verifyWebhook(wrongSecret, { id, timestamp, signature }, body, now)).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyWebhook("whsec_%%%", { id, timestamp, signature }, body, now)).toEqual({ ok: false, reason: "mismatch" });
    const unversioned = await referenceSignature(id, timestamp, body);
    expect(await verifyWebhook(secret, { id, timestamp, signature: unversioned }, body, now)).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });
});
