/**
 * The backends a job may name: each entry builds its client from the Worker's
 * bindings and may admit (or refuse, or adapt) a job before anything is charged.
 * Adding a backend is one entry here plus its module; which backend a job runs on
 * is decided in `choose.ts` alone.
 */
import { containerBackend } from "./container.js";
import { queueBackend } from "./job-queue.js";
import { fakeBackend } from "./fake/index.js";
import { replicateBackend } from "./replicate/index.js";
import { admitReplicateGeneration, admitReplicateTraining } from "./replicate/requests.js";
import type { Secrets } from "../secrets.js";
import type { BackendEntry, GpuBackend } from "./types.js";

export const BACKEND_NAMES = ["fake", "container", "replicate"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const BACKENDS: Record<BackendName, BackendEntry> = {
  fake: { create: (env) => fakeBackend({ stepMs: Number(env.FAKE_BACKEND_STEP_MS) || 300 }) },
  container: { create: createContainerBackend },
  replicate: { create: replicateBackend, admitTraining: admitReplicateTraining, admitGeneration: admitReplicateGeneration },
};

/** Seconds → ms of a numeric var, or the fallback when unset or not a positive number. */
export function secondsVar(value: string | undefined, fallbackS: number): number {
  const seconds = Number(value);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : fallbackS) * 1000;
}

/** Our GPU service, pushed to at GPU_BACKEND_URL or (DISPATCH_MODE = "queue") sent through the job queue. */
function createContainerBackend(env: Env & Secrets): GpuBackend {
  const requestTimeoutMs = secondsVar(env.BACKEND_REQUEST_TIMEOUT_S, 10);
  if (env.DISPATCH_MODE !== "queue") {
    return containerBackend({ baseUrl: env.GPU_BACKEND_URL, signingSecret: env.BACKEND_SIGNING_SECRET, requestTimeoutMs });
  }
  const { JOB_QUEUE_API_BASE: base, JOB_QUEUE_ACCOUNT_ID: accountId, JOB_QUEUE_ID: queueId, JOB_QUEUE_API_TOKEN: token } = env;
  const api = base && accountId && queueId && token ? { base, accountId, queueId, token } : undefined;
  return queueBackend({ binding: env.JOB_QUEUE, api, requestTimeoutMs });
}

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

export function backendEntry(name: BackendName): BackendEntry {
  return BACKENDS[name];
}

export function createBackend(name: BackendName, env: Env & Secrets): GpuBackend {
  return BACKENDS[name].create(env);
}
