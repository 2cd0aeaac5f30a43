/**
 * GPU backend processes for the fault and fleet tests: `gpu-backend/src/main.ts`
 * started as a real process on 127.0.0.1 (one process, so signals reach it), its
 * output kept as timestamped lines, and the local system's signing secret read
 * from the `.dev.vars` that `npm start` writes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..", "..");

export interface HostLine {
  at: number;
  text: string;
}

export interface GpuHost {
  name: string;
  child: ChildProcess;
  lines: HostLine[];
  /** Resolves with the first line (from `from` on) matching `pattern`; rejects after `timeoutMs` or if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number, from?: number): Promise<HostLine>;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

export function signingSecret(): string {
  const match = /^BACKEND_SIGNING_SECRET="?([^"\n]+)"?$/m.exec(readFileSync(join(root, ".dev.vars"), "utf8"));
  if (!match) throw new Error(".dev.vars has no BACKEND_SIGNING_SECRET");
  return match[1];
}

export function startGpuHost(name: string, env: Record<string, string>): GpuHost {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "gpu-backend", "src", "main.ts")], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", MODELS_DIR: join(root, ".data", "gpu-backend", "models"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: HostLine[] = [];
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    for (const text of chunk.toString().split("\n")) if (text.trim()) lines.push({ at: Date.now(), text });
    for (const wake of waiters) wake();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    name,
    child,
    lines,
    exited,
    signal: (signal) => child.kill(signal),
    waitForLine(pattern, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.slice(from).find((line) => pattern.test(line.text));
          if (found) finish(() => resolve(found));
          else if (child.exitCode !== null || child.signalCode !== null) finish(() => reject(new Error(`${name} exited before ${pattern}: ${tail()}`)));
        };
        const tail = () => lines.slice(-15).map((line) => line.text).join("\n");
        const timer = setTimeout(() => finish(() => reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms:\n${tail()}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        child.once("exit", check);
        check();
      });
    },
  };
}

/** Polls `read` every half second until `done` holds; throws with the last value after `timeoutMs`. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
