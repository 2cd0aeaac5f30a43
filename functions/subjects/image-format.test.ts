import { describe, expect, it } from "vitest";
import { headerDimensions, isComplete, sniffFormat } from "./image-format";
import { makeJpeg, makePng, makeWebp } from "../../test/helpers/images";

describe("format sniffing and header dimensions", () => {
  it("recognises JPEG, PNG and WebP by magic bytes and reads their sizes from the headers", () => {
    for (const [format, make] of [
      ["jpeg", makeJpeg],
      ["png", makePng],
      ["webp", makeWebp],
    ] as const) {
      const bytes = make(640, 480);
      expect(sniffFormat(bytes)).toBe(format);
      expect(headerDimensions(format, bytes)).toEqual({ width: 640, height: 480 });
      expect(isComplete(format, bytes)).toBe(true);
      expect(isComplete(format, bytes.slice(0, bytes.length - 20))).toBe(false);
    }
    expect(sniffFormat(new TextEncoder().encode("GIF89a……"))).toBeNull();
  });
});

describe("header reading on views", () => {
  it("does not read past the end of a view into a larger buffer", () => {
    const png = makePng(512, 512);
    expect(headerDimensions("png", png.subarray(0, 20))).toBeNull();
  });
});
