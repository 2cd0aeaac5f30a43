/**
 * The one place that decides which backend runs a job. A test key always runs on
 * `fake` (its jobs cost nothing and must never reach a paid or real GPU backend,
 * whatever the request names); otherwise the request's choice, else what the job
 * inherits (a generation: its training's backend), else the deployment's
 * `DEFAULT_BACKEND`. Admission (what the chosen backend refuses or adapts) is asked
 * of that backend only, so a test key naming `replicate` is never refused for
 * Replicate's missing token.
 */
import type { KeyMode } from "../accounts/api-keys.js";
import { ApiError } from "../errors.js";
import { BACKEND_NAMES, isBackendName, type BackendName } from "./index.js";

export interface BackendChoice {
  keyMode: KeyMode;
  /** The backend the request names, if any. */
  requested?: string;
  /** What the job inherits when the request names none (a generation: its training's backend). */
  inherited?: string;
  env: Pick<Env, "DEFAULT_BACKEND">;
}

export function chooseBackend({ keyMode, requested, inherited, env }: BackendChoice): BackendName {
  if (keyMode === "test") return "fake";
  const name = requested ?? inherited ?? env.DEFAULT_BACKEND;
  if (!isBackendName(name)) {
    throw new ApiError(503, "misconfigured", `DEFAULT_BACKEND "${name}" is not one of ${BACKEND_NAMES.join(", ")}`);
  }
  return name;
}
