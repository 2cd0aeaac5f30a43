import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTar, readTar } from "./tar.js";

describe("tar", () => {
  const entries = [
    { name: "manifest.json", bytes: new TextEncoder().encode('{"count":2}') },
    { name: "0000.png", bytes: new Uint8Array(700).map((_, index) => index % 251) },
  ];

  it("round-trips entries", () => {
    expect(readTar(createTar(entries))).toEqual(entries);
  });

  it("writes archives that the system tar extracts", () => {
    const directory = mkdtempSync(join(tmpdir(), "tar-test-"));
    writeFileSync(join(directory, "bundle.tar"), createTar(entries));
    execFileSync("tar", ["-xf", "bundle.tar"], { cwd: directory });
    expect(new Uint8Array(readFileSync(join(directory, "0000.png")))).toEqual(entries[1].bytes);
  });

  it("rejects a corrupt header", () => {
    const archive = createTar(entries);
    archive[3] ^= 0xff;
    expect(() => readTar(archive)).toThrow(/corrupt header/);
  });
});
