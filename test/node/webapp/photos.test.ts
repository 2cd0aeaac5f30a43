import { describe, expect, it } from "vitest";
import { SAFE_FILE_NAME } from "../../../shared/index.js";
import { PHOTO_RULES } from "../../../functions/subjects/photo-checks.js";
import { ACCEPTED_TYPES, PHOTO_LIMITS, photoName, setBlocker, uploadBlocker } from "../../../webapp/public/js/photos.js";

describe("photo names", () => {
  it("turns any file name into one the API accepts, numbered in the user's order", () => {
    const names = ["IMG 0001.JPG", "résumé (2).png", "...hidden.webp", "日本.jpg", "a".repeat(300) + ".jpg", "noext"];
    const types = ["image/jpeg", "image/png", "image/webp", "image/jpeg", "image/jpeg", "image/png"];
    const safe = names.map((name, index) => photoName(index, name, types[index]));
    expect(safe.slice(0, 4)).toEqual(["01-IMG-0001.jpg", "02-r-sum-2.png", "03-hidden.webp", "04.jpg"]);
    for (const name of safe) expect(name).toMatch(SAFE_FILE_NAME);
    expect(new Set(safe).size).toBe(safe.length);
  });
});

describe("what can be uploaded", () => {
  it("blocks types and sizes the service refuses, before any byte is sent", () => {
    expect(uploadBlocker({ type: "image/jpeg", size: 1000 })).toBeNull();
    expect(uploadBlocker({ type: "image/heic", size: 1000 })).toMatch(/not supported/);
    expect(uploadBlocker({ type: "", size: 1000 })).toMatch(/not supported/);
    expect(uploadBlocker({ type: "image/png", size: PHOTO_LIMITS.maxBytes + 1 })).toMatch(/over the 10 MB limit/);
  });

  it("asks for 3 to 20 photos", () => {
    expect(setBlocker(2)).toMatch(/at least 3/);
    expect(setBlocker(3)).toBeNull();
    expect(setBlocker(20)).toBeNull();
    expect(setBlocker(21)).toMatch(/remove 1/);
  });

  it("uses the same limits and types as the service's finalize checks", () => {
    expect(PHOTO_LIMITS).toEqual({ minPhotos: PHOTO_RULES.minPhotos, maxPhotos: PHOTO_RULES.maxPhotos, maxBytes: PHOTO_RULES.maxBytes });
    expect(Object.keys(ACCEPTED_TYPES).sort()).toEqual(["image/jpeg", "image/png", "image/webp"]);
  });
});
