import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc32Update } from "../../functions/crc32.js";
import { zipLength, zipStore, type ZipEntry } from "../../functions/backends/replicate/zip-store.js";

/** A source that yields `bytes` in uneven chunks, as an R2 body does. */
function entry(name: string, bytes: Uint8Array, declaredSize = bytes.length): ZipEntry {
  return {
    name,
    size: declaredSize,
    async open() {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= bytes.length) return controller.close();
          const end = Math.min(bytes.length, at + 1 + Math.floor(Math.random() * 70_000));
          controller.enqueue(bytes.slice(at, end));
          at = end;
        },
      });
    },
  };
}

async function build(entries: ZipEntry[]): Promise<{ path: string; bytes: Buffer; length: number }> {
  const { stream, length } = zipStore(entries);
  const bytes = Buffer.from(await new Response(stream).arrayBuffer());
  const path = join(mkdtempSync(join(tmpdir(), "zip-store-")), "photos.zip");
  writeFileSync(path, bytes);
  return { path, bytes, length };
}

describe("zip store writer", () => {
  it("computes the standard CRC-32", () => {
    expect(crc32Update(0, new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const text = new TextEncoder().encode("123456789");
    expect(crc32Update(crc32Update(0, text.slice(0, 4)), text.slice(4))).toBe(0xcbf43926);
  });

  it("writes an archive that Python's zipfile and Info-ZIP (zipfile, unzip -t) read back byte for byte", async () => {
    const photos = {
      "0.jpg": randomBytes(200_000),
      "1.png": randomBytes(1),
      "ünïcode-2.jpg": randomBytes(70_001),
      "empty.txt": new Uint8Array(0),
    };
    const { path, bytes, length } = await build(Object.entries(photos).map(([name, data]) => entry(name, data)));
    expect(bytes.length).toBe(length);
    expect(length).toBe(zipLength(Object.entries(photos).map(([name, data]) => ({ name, size: data.length }))));

    const listing = execFileSync("python3", [
      "-c",
      "import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; " +
        "print(json.dumps([[i.filename, i.file_size, i.compress_type] for i in z.infolist()]))",
      path,
    ]).toString();
    expect(JSON.parse(listing)).toEqual(Object.entries(photos).map(([name, data]) => [name, data.length, 0]));

    execFileSync("unzip", ["-tq", path]);
    const extracted = mkdtempSync(join(tmpdir(), "zip-extract-"));
    execFileSync("python3", ["-m", "zipfile", "-e", path, extracted]);
    for (const [name, data] of Object.entries(photos)) {
      expect(Buffer.compare(readFileSync(join(extracted, name)), Buffer.from(data))).toBe(0);
    }
  });

  it("is byte-identical for the same photos", async () => {
    const data = randomBytes(5000);
    const first = await build([entry("a.jpg", data)]);
    const second = await build([entry("a.jpg", data)]);
    expect(Buffer.compare(readFileSync(first.path), readFileSync(second.path))).toBe(0);
  });

  it("aborts when a source is shorter or longer than declared", async () => {
    await expect(build([entry("short.jpg", randomBytes(10), 11)])).rejects.toThrow(/10 bytes, not the declared 11/);
    await expect(build([entry("long.jpg", randomBytes(12), 11)])).rejects.toThrow(/longer than its declared 11/);
  });
});
