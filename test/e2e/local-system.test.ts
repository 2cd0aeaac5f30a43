/**
 * The "done when" of the edge API, end to end with real processes: `npm start`
 * serves on 127.0.0.1 and prints its URL and a dev key, and the scripted client
 * (`scripts/demo.mjs`) gets from a new subject to generated images on the fake backend
 * (the real GPU backend's run is train-generate.test.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, "scripts", script), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

it("npm start + demo: subject → signed uploads → finalize → training events to succeeded → generation images", async () => {
  // Its own ports and storage, so the demo's subjects never land in the checkout's `npm start` state.
  const stateDir = mkdtempSync(join(tmpdir(), "local-system-"));
  const { code, output } = await run("demo.mjs", ["--backend", "fake"], { PORT: "0", BACKEND_PORT: "0", START_STATE_DIR: stateDir }).finally(
    () => rmSync(stateDir, { recursive: true, force: true }),
  );
  expect(code, output.slice(-3000)).toBe(0);
  expect(output).toMatch(/API: +http:\/\/127\.0\.0\.1:\d+\n +API key: +dbk_live_[0-9a-z]{32}\n/);
  expect(output).toMatch(/npm start is up at http:\/\/127\.0\.0\.1:\d+/);
  expect(output).toMatch(/uploaded 5 photos via signed URLs/);
  expect(output).toMatch(/finalized: ready/);
  expect(output).toMatch(/event succeeded\s+status=succeeded/);
  expect(output).toMatch(/generation succeeded, images:\n(\s+\d+×\d+ seed \d+ → \S+ \(200, \d+ bytes\)\n){2}/);
}, 240_000);
