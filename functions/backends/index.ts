/**
 * The backends a job may name, built from the Worker's bindings. A new backend
 * (Replicate) is one more entry here plus its module; nothing else changes.
 */
import { containerBackend } from "./container.js";
import { fakeBackend } from "./fake/index.js";
import { replicateBackend } from "./replicate/index.js";
import type { Secrets } from "../secrets.js";
import type { GpuBackend } from "./types.js";

export const BACKEND_NAMES = ["fake", "container", "replicate"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

export function createBackend(name: BackendName, env: Env & Secrets): GpuBackend {
  switch (name) {
    case "fake":
      return fakeBackend({ stepMs: Number(env.FAKE_BACKEND_STEP_MS) || 300 });
    case "container":
      return containerBackend({ baseUrl: env.GPU_BACKEND_URL, signingSecret: env.BACKEND_SIGNING_SECRET });
    case "replicate":
      return replicateBackend(env);
  }
}
