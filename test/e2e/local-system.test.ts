/**
 * The "done when" of the edge API, end to end with real processes: `npm start`
 * serves on 127.0.0.1 and prints its URL and a dev key, and the scripted client
 * (`scripts/demo.mjs`) gets from a new subject to generated images on the fake backend and
 * leaves them in the folder it names (the real GPU backend's run is train-generate.test.ts and
 * the README's block in readme.test.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
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

it("npm start + demo: subject → signed uploads → finalize → training events to succeeded → 4 images, saved in the folder it names", async () => {
  // Its own ports and storage, so the demo's subjects never land in the checkout's `npm start` state.
  const stateDir = mkdtempSync(join(tmpdir(), "local-system-"));
  const outDir = join(stateDir, "demo-output");
  const { code, output } = await run("demo.mjs", ["--backend", "fake", "--out", outDir], { PORT: "0", BACKEND_PORT: "0", START_STATE_DIR: stateDir });
  try {
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/API: +http:\/\/127\.0\.0\.1:\d+\n +API key: +dbk_live_[0-9a-z]{32} /);
    expect(output).toMatch(/npm start is up at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/uploaded 5 photos via signed URLs/);
    expect(output).toMatch(/finalized: ready/);
    expect(output).toMatch(/event succeeded\s+status=succeeded/);
    expect(output).toContain(`Saved in ${relative(root, outDir)}/`);
    const summary = JSON.parse(readFileSync(join(outDir, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ subject_id: expect.stringMatching(/^sub_/), training_id: expect.stringMatching(/^trn_/), generation_id: expect.stringMatching(/^gen_/) });
    expect(readdirSync(join(outDir, "photos"))).toHaveLength(5);
    expect(readdirSync(join(outDir, "images"))).toHaveLength(4);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}, 240_000);
