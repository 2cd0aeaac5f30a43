import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signObjectUrl, verifyWorkerSignedUrl } from "./signed-urls";
import { BASE, expectError, testEnv } from "../../test/helpers/api";
import { expectedPresignedSignature } from "../../test/helpers/sigv4";

const r2Env = {
  SIGNED_URL_MODE: "r2-presigned",
  R2_BUCKET_NAME: "photos-bucket",
  R2_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
  R2_ACCESS_KEY_ID: "AKIDEXAMPLE",
  R2_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const now = Date.UTC(2026, 10, 26, 12, 30, 0);

describe("SigV4 reference implementation", () => {
  it("reproduces the presigned-URL example of the AWS documentation", async () => {
    const url = new URL(
      "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
    );
    const signature = await expectedPresignedSignature({
      method: "GET",
      url,
      headers: {},
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    });
    expect(signature).toBe("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  });
});

describe("R2 presigned URLs", () => {
  it("carry the documented SigV4 query parameters and a signature the spec recomputes (PUT with content type)", async () => {
    const key = "accounts/acc_1/subjects/sub_1/photos/front view.jpg";
    const signed = await signObjectUrl(r2Env, BASE, { method: "PUT", key, expiresInS: 900, contentType: "image/jpeg", size: 2048 }, now);
    const url = new URL(signed.url);
    expect(url.host).toBe(`${r2Env.R2_ACCOUNT_ID}.r2.cloudflarestorage.com`);
    expect(url.pathname).toBe("/photos-bucket/accounts/acc_1/subjects/sub_1/photos/front%20view.jpg");
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Credential")).toBe("AKIDEXAMPLE/20261126/auto/s3/aws4_request");
    expect(url.searchParams.get("X-Amz-Date")).toBe("20261126T123000Z");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host");
    const headers = { "content-type": "image/jpeg", "content-length": "2048" };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(
      await expectedPresignedSignature({ method: "PUT", url, headers, secretAccessKey: r2Env.R2_SECRET_ACCESS_KEY }),
    );
    // Another length is another signature: R2 refuses a body of any other size.
    expect(url.searchParams.get("X-Amz-Signature")).not.toBe(
      await expectedPresignedSignature({ method: "PUT", url, headers: { ...headers, "content-length": "2049" }, secretAccessKey: r2Env.R2_SECRET_ACCESS_KEY }),
    );
    expect(signed).toMatchObject({ method: "PUT", headers, expires_at: now + 900_000 });
  });

  it("refuse to presign a PUT without its exact size (400)", async () => {
    await expect(signObjectUrl(r2Env, BASE, { method: "PUT", key: "k", expiresInS: 60, maxBytes: 1000 }, now)).rejects.toMatchObject({
      status: 400,
      code: "size_required",
    });
  });

  it("signs GETs over the host header only, and a changed key or secret breaks the signature", async () => {
    const signed = await signObjectUrl(r2Env, BASE, { method: "GET", key: "a/b.png", expiresInS: 60 }, now);
    const url = new URL(signed.url);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    const parts = { method: "GET", url, headers: {}, secretAccessKey: r2Env.R2_SECRET_ACCESS_KEY };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(await expectedPresignedSignature(parts));
    expect(url.searchParams.get("X-Amz-Signature")).not.toBe(await expectedPresignedSignature({ ...parts, secretAccessKey: "other" }));
    expect(url.searchParams.get("X-Amz-Signature")).not.toBe(
      await expectedPresignedSignature({ ...parts, url: new URL(signed.url.replace("b.png", "c.png")) }),
    );
  });

  it("caps the lifetime at S3's 7 days", async () => {
    const signed = await signObjectUrl(r2Env, BASE, { method: "GET", key: "k", expiresInS: 30 * 24 * 3600 }, now);
    expect(new URL(signed.url).searchParams.get("X-Amz-Expires")).toBe(String(7 * 24 * 3600));
  });

  it("answers 503 for an unknown SIGNED_URL_MODE", async () => {
    await expect(signObjectUrl({ ...r2Env, SIGNED_URL_MODE: "s3" }, BASE, { method: "GET", key: "k", expiresInS: 60 })).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining("SIGNED_URL_MODE"),
    });
  });

  it("answers 503 naming the missing credential", async () => {
    const { R2_SECRET_ACCESS_KEY: _omitted, ...partial } = r2Env;
    await expect(signObjectUrl(partial, BASE, { method: "GET", key: "k", expiresInS: 60 })).rejects.toMatchObject({
      status: 503,
      code: "missing_secret",
      message: expect.stringContaining("R2_SECRET_ACCESS_KEY"),
    });
  });
});

describe("Worker-signed URLs", () => {
  const key = "accounts/acc_x/trainings/trn_x/artifacts/pytorch_lora_weights.safetensors";

  it("round-trip bytes through /files with the signed method and content type", async () => {
    const put = await signObjectUrl(testEnv, BASE, { method: "PUT", key, expiresInS: 60, contentType: "application/octet-stream", maxBytes: 8192 });
    expect(put.url.startsWith(`${BASE}/files/`)).toBe(true);
    const bytes = crypto.getRandomValues(new Uint8Array(4096));
    const stored = await SELF.fetch(put.url, { method: "PUT", headers: put.headers, body: bytes });
    expect(stored.status).toBe(200);
    expect(await stored.json()).toMatchObject({ key, size: 4096 });

    const get = await signObjectUrl(testEnv, BASE, { method: "GET", key, expiresInS: 60 });
    const fetched = await SELF.fetch(get.url);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toBe("application/octet-stream");
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(bytes);
  });

  it("refuse another method, key or content type, a tampered or missing signature, and expiry (403)", async () => {
    const put = await signObjectUrl(testEnv, BASE, { method: "PUT", key, expiresInS: 60, contentType: "image/png", maxBytes: 100 });
    await expectError(await SELF.fetch(put.url), 403, "invalid_signature");
    await expectError(await SELF.fetch(put.url, { method: "PUT", headers: { "content-type": "text/html" }, body: "x" }), 403);
    await expectError(await SELF.fetch(put.url.replace("trn_x", "trn_y"), { method: "PUT", headers: put.headers, body: "x" }), 403);
    const tampered = new URL(put.url);
    tampered.searchParams.set("sig", "0".repeat(64));
    await expectError(await SELF.fetch(tampered, { method: "PUT", headers: put.headers, body: "x" }), 403);
    tampered.searchParams.delete("sig");
    await expectError(await SELF.fetch(tampered, { method: "PUT", headers: put.headers, body: "x" }), 403);
    const raised = new URL(put.url);
    raised.searchParams.set("max", "1000000");
    await expectError(await SELF.fetch(raised, { method: "PUT", headers: put.headers, body: "x" }), 403, "invalid_signature");

    const expired = await signObjectUrl(testEnv, BASE, { method: "GET", key, expiresInS: 60 }, Date.now() - 120_000);
    await expectError(await SELF.fetch(expired.url), 403, "invalid_signature");
    const url = new URL(expired.url);
    expect(
      await verifyWorkerSignedUrl(testEnv.FILE_URL_SECRET!, {
        method: "GET",
        key,
        expires: url.searchParams.get("expires")!,
        sig: url.searchParams.get("sig")!,
        contentType: "",
      }),
    ).toEqual({ ok: false, reason: "expired" });
  });

  it("answers a missing object with 404", async () => {
    const get = await signObjectUrl(testEnv, BASE, { method: "GET", key: "accounts/none/x", expiresInS: 60 });
    await expectError(await SELF.fetch(get.url), 404, "not_found");
  });

  it("carry the most bytes a PUT may store and enforce it before reading the body (413)", async () => {
    const capped = `${key}.capped`;
    const put = await signObjectUrl(testEnv, BASE, { method: "PUT", key: capped, expiresInS: 60, contentType: "application/octet-stream", maxBytes: 1024 });
    expect(new URL(put.url).searchParams.get("max")).toBe("1024");
    await expectError(await SELF.fetch(put.url, { method: "PUT", headers: put.headers, body: new Uint8Array(1025) }), 413, "payload_too_large");
    expect(await testEnv.BUCKET.head(capped)).toBeNull();
    expect((await SELF.fetch(put.url, { method: "PUT", headers: put.headers, body: new Uint8Array(1024) })).status).toBe(200);
  });

  it("sign the exact size when the uploader declares it", async () => {
    const put = await signObjectUrl(testEnv, BASE, { method: "PUT", key, expiresInS: 60, size: 10, maxBytes: 1024 });
    expect(new URL(put.url).searchParams.get("max")).toBe("10");
    expect(put.headers).toEqual({ "content-length": "10" });
    await expectError(await SELF.fetch(put.url, { method: "PUT", body: new Uint8Array(11) }), 413);
  });
});
