/**
 * The README's "Your first ten minutes" block, run as a newcomer pastes it: in bash,
 * at the repository root, against `npm start` (the embedded model on the local CPU,
 * free ports, a temp state folder). It drives `npm run demo` into a folder, reads
 * the ids back with jq and renders four more images, so the front door cannot rot.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalSystem } from "../../scripts/lib/local-api.mjs";
import { BASE_MODEL_FACTS } from "../../functions/jobs/base-model-facts.js";

const root = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The first sh block after the heading. */
function shellBlock(heading: string): string {
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`README has no sh block under "${heading}"`);
  return block;
}

let system: Awaited<ReturnType<typeof startLocalSystem>>;
let stateDir: string;
let outDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "readme-state-"));
  outDir = join(mkdtempSync(join(tmpdir(), "readme-out-")), "first");
  system = await startLocalSystem({ env: { PORT: "0", BACKEND_PORT: "0", START_STATE_DIR: stateDir } });
});

afterAll(async () => {
  await system?.stop();
  for (const directory of [stateDir, outDir]) if (directory) rmSync(directory, { recursive: true, force: true });
});

it("keeps the two commands: one starts the service, one runs every test", () => {
  const commands = shellBlock("Two commands").split("\n").map((line) => line.split("#")[0].trim()).filter(Boolean);
  expect(commands).toEqual(["npm ci && npm start", "npm test"]);
});

it("runs the first-ten-minutes block as pasted: demo into a folder, ids read back with jq, four more images", async () => {
  const block = shellBlock("Your first ten minutes");
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("bash", ["-eo", "pipefail", "-c", block], { cwd: root, env: { ...process.env, API: system.url, OUT: outDir } });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("exit", (exitCode) => resolve({ code: exitCode, output }));
  });
  expect(code, output.slice(-4000)).toBe(0);
  expect(output).toContain('"model": "tiny-emoji"');
  expect(output).toMatch(new RegExp(`"status": "succeeded",\\s+"steps": ${BASE_MODEL_FACTS["tiny-emoji"].quick_training.steps},\\s+"quality": -?\\d`));
  expect(readdirSync(join(outDir, "photos"))).toHaveLength(5);
  expect(readdirSync(join(outDir, "images"))).toHaveLength(4);
  expect(readdirSync(join(outDir, "lora")).sort()).toEqual(["lora_kohya.safetensors", "pytorch_lora_weights.safetensors"]);
  for (const index of [0, 1, 2, 3]) {
    const image = await sharp(join(outDir, `pink-${index}.png`)).metadata();
    expect([image.format, image.width, image.height]).toEqual(["png", 32, 32]);
  }
}, 420_000);
