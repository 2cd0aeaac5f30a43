import { describe, expect, it } from "vitest";
import { signedHeaders, signPayload, SIGNATURE_HEADER, TIMESTAMP_HEADER, timingSafeEqual, verifySignature } from "./signing.js";

const secret = "test-secret";
const body = JSON.stringify({ job_id: "trn_1", seq: 0 });

describe("signing", () => {
  it("matches an independently computed HMAC-SHA256 of `timestamp.body`", async () => {
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
    expect(await signPayload(secret, 1700000000, body)).toBe(`v1=${expected}`);
  });

  it("accepts its own signature inside the window", async () => {
    const now = 1_700_000_000_000;
    const headers = await signedHeaders(secret, body, now);
    const check = await verifySignature(secret, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], now + 299_000);
    expect(check).toEqual({ ok: true });
  });

  it("rejects missing, malformed, stale, tampered and wrong-secret requests", async () => {
    const now = 1_700_000_000_000;
    const headers = await signedHeaders(secret, body, now);
    const ts = headers[TIMESTAMP_HEADER];
    const sig = headers[SIGNATURE_HEADER];
    expect(await verifySignature(secret, body, null, sig, now)).toEqual({ ok: false, reason: "missing" });
    expect(await verifySignature(secret, body, ts, undefined, now)).toEqual({ ok: false, reason: "missing" });
    expect(await verifySignature(secret, body, "12abc", sig, now)).toEqual({ ok: false, reason: "malformed" });
    expect(await verifySignature(secret, body, ts, sig, now + 301_000)).toEqual({ ok: false, reason: "stale" });
    expect(await verifySignature(secret, body, ts, sig, now - 301_000)).toEqual({ ok: false, reason: "stale" });
    expect(await verifySignature(secret, `${body} `, ts, sig, now)).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifySignature("other", body, ts, sig, now)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("compares strings of different lengths as unequal", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
  });
});
