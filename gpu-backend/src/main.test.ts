/**
 * The service entry as operators run it: a real process from `npm run start:backend`'s command line,
 * configured by environment only, loading the bundled tiny-emoji default (and creating tiny-random,
 * the stand-in for dry runs) on first start and exiting cleanly on SIGTERM.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dataDir = mkdtempSync(join(tmpdir(), "gpu-backend-main-"));
// A test that fails before its own SIGTERM must not leave a backend running (tsx passes SIGTERM on to node).
const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
});

describe("gpu-backend main", () => {
  it("starts from the environment, serves /healthz with the default model loaded, and exits 0 on SIGTERM", async () => {
    // The script's own command line, so what it passes to node (the GC flag the replicas need) is what runs.
    const [command, ...args] = JSON.parse(readFileSync("package.json", "utf8")).scripts["start:backend"].split(" ");
    expect(command).toBe("tsx");
    const child = spawn(join("node_modules", ".bin", "tsx"), args, {
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", BACKEND_SIGNING_SECRET: "main-test-secret-0123", DATA_DIR: dataDir, TFJS_BACKEND: "wasm", TRAIN_WORKERS: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(child);
    let output = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 90 s:\n${output}`)), 90_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
    });
    expect(output).toMatch(/tfjs wasm, 2 training replicas, single-threaded GC,/);
    const health = await (await fetch(`${url}/healthz`)).json();
    expect(health).toMatchObject({ backend: "wasm", model_loaded: true, models_loaded: ["tiny-emoji"], queue_depth: 0 });
    expect(existsSync(join(dataDir, "models", "tiny-random", "model_index.json"))).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("refuses to start on a TRAIN_WORKERS that is not a positive integer, saying so", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "gpu-backend/src/main.ts"], {
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", BACKEND_SIGNING_SECRET: "main-test-secret-0123", DATA_DIR: dataDir, TFJS_BACKEND: "wasm", TRAIN_WORKERS: "two" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).not.toBe(0);
    expect(output).toContain("TRAIN_WORKERS=two is not a positive integer");
    expect(output).not.toContain("listening on");
  });
});
