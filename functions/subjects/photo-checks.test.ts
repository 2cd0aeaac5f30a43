import { describe, expect, it } from "vitest";
import { checkPhoto, checkPhotoSet, type PhotoFile } from "./photo-checks";
import { makeJpeg, makePng, makePngClaiming, makeWebp } from "../../test/helpers/images";

async function file(name: string, bytes: Uint8Array, size = bytes.length): Promise<PhotoFile> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const sha256 = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { name, size, bytes, sha256 };
}

const codes = (report: { problems: { code: string }[] }) => report.problems.map((problem) => problem.code);

describe("one photo", () => {
  it("accepts a valid photo and warns below 512 px", async () => {
    const good = checkPhoto(await file("a.png", makePng(600, 800)));
    expect(good).toMatchObject({ ok: true, format: "png", width: 600, height: 800, problems: [], warnings: [] });
    const small = checkPhoto(await file("b.webp", makeWebp(300, 400)));
    expect(small.ok).toBe(true);
    expect(small.warnings.map((warning) => warning.code)).toEqual(["low_resolution"]);
  });

  it("rejects wrong magic whatever the name says, truncation, too small, too large a file", async () => {
    expect(codes(checkPhoto(await file("fake.jpg", new TextEncoder().encode("<html>not an image</html>"))))).toEqual(["unsupported_format"]);
    const jpeg = makeJpeg(512, 512);
    expect(codes(checkPhoto(await file("cut.jpg", jpeg.slice(0, jpeg.length - 3))))).toEqual(["truncated"]);
    const png = makePng(512, 512);
    expect(codes(checkPhoto(await file("cut.png", png.slice(0, 40))))).toContain("truncated");
    expect(codes(checkPhoto(await file("tiny.png", makePng(255, 900))))).toEqual(["too_small"]);
    expect(codes(checkPhoto({ name: "huge.jpg", size: 10 * 1024 * 1024 + 1 }))).toEqual(["file_too_large"]);
    expect(codes(checkPhoto(await file("header-only.png", png.slice(0, 20))))).toEqual(["unreadable_header", "truncated"]);
  });

  it("rejects a PNG whose header claims 100000×100000 without decoding it", async () => {
    const bomb = makePngClaiming(100_000, 100_000);
    expect(bomb.length).toBeLessThan(200);
    const report = checkPhoto(await file("bomb.png", bomb));
    expect(report).toMatchObject({ ok: false, width: 100_000, height: 100_000 });
    expect(codes(report)).toEqual(["dimensions_too_large"]);
  });
});

describe("the photo set", () => {
  it("accepts 3–20 distinct valid photos", async () => {
    const files = await Promise.all([makeJpeg(512, 512, 1), makePng(512, 600, 2), makeWebp(700, 512, 3)].map((bytes, i) => file(`p${i}`, bytes)));
    expect(checkPhotoSet(files)).toMatchObject({ ok: true, problems: [] });
  });

  it("names every problem per photo: too few, duplicates, and each bad file", async () => {
    const original = await file("one.png", makePng(512, 512, 9));
    const copy = { ...original, name: "copy.png" };
    const report = checkPhotoSet([original, copy]);
    expect(report.ok).toBe(false);
    expect(codes(report)).toEqual(["too_few_photos"]);
    expect(report.photos.map((photo) => [photo.name, codes(photo)])).toEqual([
      ["one.png", []],
      ["copy.png", ["duplicate"]],
    ]);
    expect(report.photos[1].problems[0].message).toContain("one.png");
  });

  it("rejects more than 20 photos", async () => {
    const files = await Promise.all(Array.from({ length: 21 }, (_, i) => file(`p${i}.png`, makePng(256, 256, i))));
    const report = checkPhotoSet(files);
    expect(codes(report)).toEqual(["too_many_photos"]);
    expect(report.photos.every((photo) => photo.ok)).toBe(true);
  });
});
