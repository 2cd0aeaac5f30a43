/**
 * The job state machine shared by trainings and generations.
 *
 * Trainings go queued → dispatched → preparing → training → exporting → succeeded;
 * generations use `generating` where trainings use `training`. Events can arrive
 * late, twice or out of order, so a forward move may skip states (a `training`
 * progress event before `started` still counts) but never goes back, except by
 * re-dispatch, which starts a new attempt at `dispatched`. Terminal states are final.
 */
export const JOB_STATUSES = [
  "queued",
  "dispatched",
  "preparing",
  "training",
  "generating",
  "exporting",
  "succeeded",
  "failed",
  "canceled",
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobKind = "train" | "generate";

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "canceled"]);

const PATHS: Record<JobKind, readonly JobStatus[]> = {
  train: ["queued", "dispatched", "preparing", "training", "exporting", "succeeded"],
  generate: ["queued", "dispatched", "preparing", "generating", "exporting", "succeeded"],
};

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Statuses a job of `kind` can be in. */
export function statusesOf(kind: JobKind): readonly JobStatus[] {
  return [...PATHS[kind], "failed", "canceled"];
}

/**
 * Whether `from → to` is allowed. `redispatch` marks the one backwards move:
 * a new attempt of a non-terminal job returns to `dispatched`.
 */
export function canTransition(kind: JobKind, from: JobStatus, to: JobStatus, redispatch = false): boolean {
  if (isTerminal(from)) return false;
  if (to === "failed" || to === "canceled") return true;
  const path = PATHS[kind];
  const fromIndex = path.indexOf(from);
  const toIndex = path.indexOf(to);
  if (fromIndex < 0 || toIndex < 0) return false;
  if (redispatch) return to === "dispatched";
  return toIndex > fromIndex;
}
