import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { r2Keys } from "../../shared/index";
import { RARE_TOKENS } from "../subjects/rare-tokens";
import { BASE, createAccount, expectError, jsonInit } from "../../test/helpers/api";
import { createSubject, putImage } from "../../test/helpers/subjects";
import { makeJpeg, makePng, makePngClaiming, makeWebp } from "../../test/helpers/images";

describe("POST /v1/subjects", () => {
  it("creates a draft subject with a rare-token identifier by default", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    expect(subject).toMatchObject({ name: "Rex", class_noun: "dog", status: "draft", photos: [] });
    expect(subject.id).toMatch(/^sub_[0-9a-z]{20}$/);
    expect(RARE_TOKENS).toContain(subject.identifier);
    expect((await createSubject(account, { name: "Bag", class_noun: "backpack", identifier: "qlx" })).identifier).toBe("qlx");
  });

  it("requires class_noun and rejects unknown fields, naming each field", async () => {
    const account = await createAccount();
    const error = await expectError(
      await account.request("/v1/subjects", jsonInit("POST", { name: "", identifier: "Not Valid", extra: 1 })),
      400,
      "invalid_request",
    );
    const paths = (error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "class_noun", "identifier"]));
    const braces = await expectError(await account.request("/v1/subjects", jsonInit("POST", { name: "x", class_noun: "{subject}" })), 400);
    expect((braces.details as { issues: { path: string }[] }).issues.map((issue) => issue.path)).toEqual(["class_noun"]);
  });

  it("refuses control characters and bidirectional overrides in names and class nouns, keeping emoji and accents", async () => {
    const account = await createAccount();
    for (const bad of ["Rex\u0000", "Re\u0007x", "Rex\u202Egod", "a\u2066b", "Re\u0085x", "Re\u007fx", "line\u2028break", "Rex\nMax"]) {
      for (const field of ["name", "class_noun"]) {
        const body = { name: "Rex", class_noun: "dog", [field]: bad };
        const error = await expectError(await account.request("/v1/subjects", jsonInit("POST", body)), 400, "invalid_request");
        expect((error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path), JSON.stringify(bad)).toEqual([field]);
      }
    }
    const fine = await account.request("/v1/subjects", jsonInit("POST", { name: "Zoë 🐕‍🦺 ∑", class_noun: "chien d'assistance" }));
    expect(fine.status).toBe(201);
    expect((await fine.json<{ name: string }>()).name).toBe("Zoë 🐕‍🦺 ∑");
  });
});

describe("GET /v1/subjects", () => {
  it("pages newest first with a cursor", async () => {
    const account = await createAccount();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await createSubject(account, { name: `s${i}`, class_noun: "cat" })).id);
    const first = await (await account.request("/v1/subjects?limit=2")).json<{ items: { id: string }[]; next_cursor: string }>();
    expect(first.items.map((item) => item.id)).toEqual([ids[4], ids[3]]);
    const rest = await (await account.request(`/v1/subjects?limit=10&cursor=${first.next_cursor}`)).json<{
      items: { id: string }[];
      next_cursor: string | null;
    }>();
    expect(rest.items.map((item) => item.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(rest.next_cursor).toBeNull();
    await expectError(await account.request("/v1/subjects?limit=0"), 400, "invalid_request");
    await expectError(await account.request("/v1/subjects?cursor=abc"), 400, "invalid_request");
  });
});

describe("photos and finalize", () => {
  it("accepts raw uploads, then finalizes with a per-image report and a manifest", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const photos = { "a.jpg": makeJpeg(640, 640, 1), "b.png": makePng(512, 300, 2), "c.webp": makeWebp(800, 600, 3) };
    for (const [name, bytes] of Object.entries(photos)) {
      const stored = await putImage(account, subject.id, name, bytes, "application/octet-stream");
      expect(stored.status).toBe(201);
      expect(await stored.json()).toMatchObject({ name, size: bytes.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
    const response = await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" });
    expect(response.status).toBe(200);
    const body = await response.json<{ subject: { status: string; photos: { name: string; format: string }[] }; report: { photos: { warnings: { code: string }[] }[] } }>();
    expect(body.subject.status).toBe("ready");
    expect(body.subject.photos.map((photo) => [photo.name, photo.format])).toEqual([
      ["a.jpg", "jpeg"],
      ["b.png", "png"],
      ["c.webp", "webp"],
    ]);
    expect(body.report.photos[1].warnings.map((warning) => warning.code)).toEqual(["low_resolution"]);
    const fetched = await (await account.request(`/v1/subjects/${subject.id}`)).json<{ status: string }>();
    expect(fetched.status).toBe("ready");
    await expectError(await putImage(account, subject.id, "d.jpg", makeJpeg(512, 512)), 409, "subject_finalized");
  });

  it("answers 422 naming every problem of every photo", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const jpeg = makeJpeg(512, 512, 5);
    await putImage(account, subject.id, "ok.jpg", jpeg);
    await putImage(account, subject.id, "dup.jpg", jpeg);
    await putImage(account, subject.id, "bomb.png", makePngClaiming(100_000, 100_000), "image/png");
    await putImage(account, subject.id, "cut.jpg", jpeg.slice(0, jpeg.length - 4));
    await putImage(account, subject.id, "small.png", makePng(200, 200), "image/png");
    // A non-image never gets past PUT (415); one uploaded straight to storage is judged at finalize.
    await env.BUCKET.put(r2Keys.photo(account.accountId, subject.id, "text.jpg"), "definitely not a jpeg");
    const error = await expectError(await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" }), 422, "photos_rejected");
    const report = error.details as { photos: { name: string; problems: { code: string }[] }[] };
    const byName = Object.fromEntries(report.photos.map((photo) => [photo.name, photo.problems.map((problem) => problem.code)]));
    expect(byName).toEqual({
      "bomb.png": ["dimensions_too_large"],
      "cut.jpg": ["truncated"],
      "dup.jpg": [],
      "ok.jpg": ["duplicate"],
      "small.png": ["too_small"],
      "text.jpg": ["unsupported_format"],
    });
    expect((await (await account.request(`/v1/subjects/${subject.id}`)).json<{ status: string }>()).status).toBe("draft");
  });

  it("refuses non-image content types (415), oversized bodies (413) and bad names (400)", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    await expectError(await putImage(account, subject.id, "a.jpg", makeJpeg(512, 512), "text/plain"), 415, "unsupported_media_type");
    await expectError(await putImage(account, subject.id, "big.jpg", new Uint8Array(10 * 1024 * 1024 + 1)), 413, "payload_too_large");
    await expectError(await putImage(account, subject.id, ".hidden", makeJpeg(512, 512)), 400, "invalid_request");
  });

  it("hands out Worker-signed PUT URLs that upload straight to the subject's photos", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const names = ["1.jpg", "2.jpg", "3.jpg"];
    const response = await account.request(
      `/v1/subjects/${subject.id}/uploads`,
      jsonInit("POST", { files: names.map((name) => ({ name, content_type: "image/jpeg" })) }),
    );
    expect(response.status).toBe(200);
    const { uploads } = await response.json<{ uploads: { name: string; url: string; headers: Record<string, string> }[] }>();
    expect(uploads.map((upload) => upload.name)).toEqual(names);
    for (const [i, upload] of uploads.entries()) {
      expect(upload.headers).toEqual({ "content-type": "image/jpeg" });
      const { SELF } = await import("cloudflare:test");
      expect((await SELF.fetch(upload.url, { method: "PUT", headers: upload.headers, body: makeJpeg(512, 512, i) })).status).toBe(200);
    }
    expect((await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" })).status).toBe(200);
  });

  it("hands out R2 presigned PUT URLs in production mode", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const { default: app } = await import("../index");
    const production = { ...env, SIGNED_URL_MODE: "r2-presigned", R2_ACCOUNT_ID: "abc123", R2_ACCESS_KEY_ID: "AKID", R2_SECRET_ACCESS_KEY: "secret" };
    const request = (init: RequestInit) =>
      app.fetch(new Request(`${BASE}/v1/subjects/${subject.id}/uploads`, { ...init, headers: { ...init.headers, authorization: `Bearer ${account.apiKey}` } }), production);
    const response = await request(jsonInit("POST", { files: [{ name: "x.png", content_type: "image/png", size: 4321 }] }));
    expect(response.status).toBe(200);
    const { uploads } = await response.json<{ uploads: { url: string; headers: Record<string, string> }[] }>();
    expect(uploads[0].headers).toEqual({ "content-type": "image/png", "content-length": "4321" });
    const url = new URL(uploads[0].url);
    expect(url.host).toBe("abc123.r2.cloudflarestorage.com");
    expect(url.pathname).toBe(`/${env.R2_BUCKET_NAME}/${r2Keys.photo(account.accountId, subject.id, "x.png")}`);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host");
    // An R2 URL cannot cap a body it never sees: without the exact size there is no URL.
    await expectError(await request(jsonInit("POST", { files: [{ name: "x.png", content_type: "image/png" }] })), 400, "size_required");
    const missing = await app.fetch(
      new Request(`${BASE}/v1/subjects/${subject.id}/uploads`, {
        ...jsonInit("POST", { files: [{ name: "x.png", content_type: "image/png", size: 4321 }] }),
        headers: { "content-type": "application/json", authorization: `Bearer ${account.apiKey}` },
      }),
      { ...production, R2_ACCESS_KEY_ID: undefined },
    );
    expect((await expectError(missing, 503, "missing_secret")).message).toContain("R2_ACCESS_KEY_ID");
  });
});

describe("DELETE /v1/subjects/:id", () => {
  it("removes the subject, its photos and its trainings' and generations' objects", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    await putImage(account, subject.id, "a.jpg", makeJpeg(512, 512));
    const store = env.ACCOUNTS.get(env.ACCOUNTS.idFromName(account.accountId));
    await store.recordTraining({ id: "trn_test1", mode: "live", subject_id: subject.id, status: "succeeded", created_at: 1 });
    await store.recordGeneration({ id: "gen_test1", mode: "live", training_id: "trn_test1", status: "succeeded", created_at: 2 });
    await env.BUCKET.put(r2Keys.trainingFile(account.accountId, "trn_test1", "artifacts/w.safetensors"), "w");
    await env.BUCKET.put(r2Keys.generationFile(account.accountId, "gen_test1", "images/0.png"), "p");
    const other = await createSubject(account, { name: "Keep", class_noun: "cat" });
    await putImage(account, other.id, "keep.jpg", makeJpeg(512, 512));

    const response = await account.request(`/v1/subjects/${subject.id}`, { method: "DELETE" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ deleted: true, trainings: ["trn_test1"], generations: ["gen_test1"], removed_objects: 3 });
    const left = await env.BUCKET.list({ prefix: r2Keys.accountPrefix(account.accountId) });
    expect(left.objects.map((object) => object.key)).toEqual([r2Keys.photo(account.accountId, other.id, "keep.jpg")]);
    expect(await store.getTraining("trn_test1")).toBeNull();
    await expectError(await account.request(`/v1/subjects/${subject.id}`), 404, "not_found");
    await expectError(await account.request(`/v1/subjects/${subject.id}`, { method: "DELETE" }), 404, "not_found");
  });
});

describe("DELETE of a subject with a live training", () => {
  it("cancels the training before removing its files", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    for (let i = 0; i < 3; i++) await putImage(account, subject.id, `${i}.jpg`, makeJpeg(512, 512, i));
    expect((await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" })).status).toBe(200);
    const started = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, backend: "fake" }));
    expect(started.status).toBe(202);
    const training = await started.json<{ id: string }>();
    expect((await account.request(`/v1/subjects/${subject.id}`, { method: "DELETE" })).status).toBe(200);
    const after = await (await account.request(`/v1/trainings/${training.id}`)).json<{ status: string }>();
    expect(after.status).toBe("canceled");
  });
});

describe("tenant isolation", () => {
  it("answers 404 on every subject route for another account's subject, and touches nothing", async () => {
    const owner = await createAccount();
    const intruder = await createAccount("live");
    const subject = await createSubject(owner);
    await putImage(owner, subject.id, "a.jpg", makeJpeg(512, 512));
    const attempts: [string, RequestInit][] = [
      [`/v1/subjects/${subject.id}`, { method: "GET" }],
      [`/v1/subjects/${subject.id}`, { method: "DELETE" }],
      [`/v1/subjects/${subject.id}/images/b.jpg`, { method: "PUT", headers: { "content-type": "image/jpeg" }, body: makeJpeg(512, 512) }],
      [`/v1/subjects/${subject.id}/uploads`, jsonInit("POST", { files: [{ name: "c.jpg", content_type: "image/jpeg" }] })],
      [`/v1/subjects/${subject.id}/finalize`, { method: "POST" }],
    ];
    for (const [path, init] of attempts) await expectError(await intruder.request(path, init), 404, "not_found");
    const listing = await (await intruder.request("/v1/subjects")).json<{ items: unknown[] }>();
    expect(listing.items).toEqual([]);
    const objects = await env.BUCKET.list({ prefix: r2Keys.subjectPrefix(owner.accountId, subject.id) });
    expect(objects.objects.map((object) => object.key)).toEqual([r2Keys.photo(owner.accountId, subject.id, "a.jpg")]);
    expect((await owner.request(`/v1/subjects/${subject.id}`)).status).toBe(200);
  });

  it("answers 401 on every subject route without a valid key", async () => {
    const { SELF } = await import("cloudflare:test");
    for (const [method, path] of [
      ["POST", "/v1/subjects"],
      ["GET", "/v1/subjects"],
      ["GET", "/v1/subjects/sub_x"],
      ["DELETE", "/v1/subjects/sub_x"],
      ["PUT", "/v1/subjects/sub_x/images/a.jpg"],
      ["POST", "/v1/subjects/sub_x/uploads"],
      ["POST", "/v1/subjects/sub_x/finalize"],
    ]) {
      await expectError(await SELF.fetch(`${BASE}${path}`, { method, headers: { authorization: "Bearer dbk_test_wrong" } }), 401, "unauthorized");
    }
  });
});
