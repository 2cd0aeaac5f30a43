import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { r2Keys } from "../../shared/index";
import { PHOTO_RULES } from "../subjects/photo-checks";
import { createAccount, expectError, jsonInit, type TestAccount } from "../../test/helpers/api";
import { makeJpeg, makePng, makeWebp } from "../../test/helpers/images";
import { createSubject, putImage } from "../../test/helpers/subjects";

type Upload = { name: string; url: string; headers: Record<string, string> };

async function uploadUrls(account: TestAccount, subjectId: string, names: string[]) {
  return account.request(`/v1/subjects/${subjectId}/uploads`, jsonInit("POST", { files: names.map((name) => ({ name, content_type: "image/jpeg" })) }));
}

async function readyWithStaleUrl(account: TestAccount) {
  const subject = await createSubject(account);
  for (const [i, name] of ["a.jpg", "b.jpg", "c.jpg"].entries()) expect((await putImage(account, subject.id, name, makeJpeg(512, 512, i))).status).toBe(201);
  const { uploads } = await (await uploadUrls(account, subject.id, ["late.jpg", "a.jpg"])).json<{ uploads: Upload[] }>();
  const finalized = await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" });
  expect(finalized.status).toBe(200);
  return { subject, uploads, first: await finalized.json() };
}

describe("a finalized subject does not change", () => {
  it("refuses a Worker-signed upload URL issued before finalize, for a new name and for a replacement (409)", async () => {
    const account = await createAccount();
    const { subject, uploads } = await readyWithStaleUrl(account);
    for (const upload of uploads) {
      const response = await SELF.fetch(upload.url, { method: "PUT", headers: upload.headers, body: makeJpeg(512, 512, 40) });
      await expectError(response, 409, "subject_finalized");
    }
    expect(await env.BUCKET.head(r2Keys.photo(account.accountId, subject.id, "late.jpg"))).toBeNull();
  });

  it("answers a second finalize with the first answer and changes nothing", async () => {
    const account = await createAccount();
    const { subject, first } = await readyWithStaleUrl(account);
    // Even a photo that reached storage some other way (an R2 URL) is not taken in.
    await env.BUCKET.put(r2Keys.photo(account.accountId, subject.id, "sneaked.jpg"), makeJpeg(512, 512, 99));
    const again = await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
  });

  it("refuses every photo write path once finalized: raw PUT, DELETE, new upload URLs (409)", async () => {
    const account = await createAccount();
    const { subject } = await readyWithStaleUrl(account);
    await expectError(await putImage(account, subject.id, "d.jpg", makeJpeg(512, 512, 7)), 409, "subject_finalized");
    await expectError(await account.request(`/v1/subjects/${subject.id}/images/a.jpg`, { method: "DELETE" }), 409, "subject_finalized");
    await expectError(await uploadUrls(account, subject.id, ["e.jpg"]), 409, "subject_finalized");
  });
});

describe("a draft holds at most PHOTO_RULES.maxPhotos photos", () => {
  it("refuses the photo past the limit on every path, but lets a photo be replaced under its own name", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    for (let i = 0; i < PHOTO_RULES.maxPhotos; i++) {
      expect((await putImage(account, subject.id, `p${i}.png`, makePng(8, 8, i), "image/png")).status).toBe(201);
    }
    await expectError(await putImage(account, subject.id, "one-more.png", makePng(8, 8, 200), "image/png"), 409, "too_many_photos");
    expect((await putImage(account, subject.id, "p0.png", makePng(8, 8, 201), "image/png")).status).toBe(201);
    await expectError(await uploadUrls(account, subject.id, ["one-more.jpg"]), 409, "too_many_photos");
    expect((await uploadUrls(account, subject.id, ["p1.png"])).status).toBe(200);
    const listing = await env.BUCKET.list({ prefix: r2Keys.photo(account.accountId, subject.id, "") });
    expect(listing.objects).toHaveLength(PHOTO_RULES.maxPhotos);
  });

  it("counts the files of one upload request together", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    await putImage(account, subject.id, "a.jpg", makeJpeg(64, 64));
    const names = Array.from({ length: PHOTO_RULES.maxPhotos }, (_, i) => `n${i}.jpg`);
    const error = await expectError(await uploadUrls(account, subject.id, names), 409, "too_many_photos");
    expect(error.details).toEqual({ stored: 1, adding: PHOTO_RULES.maxPhotos, limit: PHOTO_RULES.maxPhotos });
  });
});

describe("PUT /v1/subjects/:id/images/:name judges the bytes as they arrive", () => {
  it("refuses a non-image with 415 naming the format it saw, and stores nothing", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const bodies: [string, Uint8Array][] = [
      ["GIF", new TextEncoder().encode("GIF89a\x01\x00\x01\x00\x00\x00\x00;")],
      ["PDF", new TextEncoder().encode("%PDF-1.7\n%âãÏÓ\n1 0 obj")],
      ["HEIC", Uint8Array.from([0, 0, 0, 0x18, ...new TextEncoder().encode("ftypheic"), 0, 0, 0, 0])],
      ["text", new TextEncoder().encode("<html><body>hello</body></html>")],
      ["nothing (an empty body)", new Uint8Array()],
    ];
    for (const [seen, bytes] of bodies) {
      const error = await expectError(await putImage(account, subject.id, "x.jpg", bytes), 415, "unsupported_image_format");
      expect(error.details).toEqual({ seen });
      expect(error.message).toContain(seen);
    }
    expect(await env.BUCKET.head(r2Keys.photo(account.accountId, subject.id, "x.jpg"))).toBeNull();
  });

  it("judges by the first bytes: a non-image larger than any photo is a 415, not a 413", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    const chunk = new TextEncoder().encode("not an image, ".repeat(4096));
    let sent = 0;
    const longText = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > PHOTO_RULES.maxBytes + chunk.length) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const error = await expectError(await putImage(account, subject.id, "x.jpg", longText), 415, "unsupported_image_format");
    expect(error.details).toEqual({ seen: "text" });
  });

  it("stores JPEG, PNG and WebP with the content type their bytes say, whatever the request declared", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    for (const [name, bytes, type] of [["a.jpg", makeJpeg(64, 64), "image/jpeg"], ["b.png", makePng(64, 64), "image/png"], ["c.webp", makeWebp(64, 64), "image/webp"]] as const) {
      expect((await putImage(account, subject.id, name, bytes, "application/octet-stream")).status).toBe(201);
      expect((await env.BUCKET.head(r2Keys.photo(account.accountId, subject.id, name)))?.httpMetadata?.contentType).toBe(type);
    }
  });
});

describe("DELETE /v1/subjects/:id/images/:name", () => {
  it("removes one photo of a draft, so a bad photo no longer strands the subject", async () => {
    const account = await createAccount();
    const subject = await createSubject(account);
    for (const [i, name] of ["a.jpg", "b.jpg", "c.jpg"].entries()) await putImage(account, subject.id, name, makeJpeg(512, 512, i));
    await putImage(account, subject.id, "tiny.jpg", makeJpeg(100, 100, 9));
    await expectError(await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" }), 422, "photos_rejected");
    const removed = await account.request(`/v1/subjects/${subject.id}/images/tiny.jpg`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ name: "tiny.jpg", deleted: true });
    expect((await account.request(`/v1/subjects/${subject.id}/finalize`, { method: "POST" })).status).toBe(200);
  });

  it("answers 404 for a photo the subject does not hold, another account's subject, and a bad name (400)", async () => {
    const owner = await createAccount();
    const stranger = await createAccount();
    const subject = await createSubject(owner);
    await putImage(owner, subject.id, "a.jpg", makeJpeg(64, 64));
    await expectError(await owner.request(`/v1/subjects/${subject.id}/images/none.jpg`, { method: "DELETE" }), 404, "not_found");
    await expectError(await stranger.request(`/v1/subjects/${subject.id}/images/a.jpg`, { method: "DELETE" }), 404, "not_found");
    await expectError(await owner.request(`/v1/subjects/${subject.id}/images/.hidden`, { method: "DELETE" }), 400, "invalid_request");
    expect(await env.BUCKET.head(r2Keys.photo(owner.accountId, subject.id, "a.jpg"))).not.toBeNull();
  });
});
