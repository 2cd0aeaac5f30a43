/**
 * The backends a job may name: each entry builds its client from the Worker's
 * bindings and may admit (or refuse, or adapt) a job before anything is charged.
 * Adding a backend is one entry here plus its module; which backend a job runs on
 * is decided in `choose.ts` alone.
 */
import { containerBackend } from "./container.js";
import { fakeBackend } from "./fake/index.js";
import { replicateBackend } from "./replicate/index.js";
import { admitReplicateGeneration, admitReplicateTraining } from "./replicate/requests.js";
import type { Secrets } from "../secrets.js";
import type { BackendEntry, GpuBackend } from "./types.js";

export const BACKEND_NAMES = ["fake", "container", "replicate"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const BACKENDS: Record<BackendName, BackendEntry> = {
  fake: { create: (env) => fakeBackend({ stepMs: Number(env.FAKE_BACKEND_STEP_MS) || 300 }) },
  container: { create: (env) => containerBackend({ baseUrl: env.GPU_BACKEND_URL, signingSecret: env.BACKEND_SIGNING_SECRET }) },
  replicate: { create: replicateBackend, admitTraining: admitReplicateTraining, admitGeneration: admitReplicateGeneration },
};

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

export function backendEntry(name: BackendName): BackendEntry {
  return BACKENDS[name];
}

export function createBackend(name: BackendName, env: Env & Secrets): GpuBackend {
  return BACKENDS[name].create(env);
}
