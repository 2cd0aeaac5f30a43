/**
 * The job state machine applied to what actually happens: backend events, dispatch
 * answers, heartbeat silence and cancel requests. Every function here is pure — a
 * record in, a new record (or a reason to ignore) out — so the rules are tested
 * without a runtime and the Durable Object only persists, broadcasts and schedules.
 *
 * Events may arrive twice, late or out of order. Duplicates are caught before this
 * module by the event log's (attempt, seq) key; here an event of another attempt is
 * ignored, a status only moves forward (`canTransition`), progress only grows, and a
 * terminal job is never left — though artifacts of its last attempt that arrive after
 * `succeeded` are still recorded, since the files exist and the client wants them.
 */
import {
  canTransition,
  isTerminal,
  statusesOf,
  type BackendEvent,
  type JobPhase,
  type JobStatus,
} from "../../shared/index.js";
import { artifactKey } from "./artifact-keys.js";
import { EMPTY_PROGRESS, type JobError, type JobRecord, type Progress, type TrainingRecord } from "./record.js";

export type IgnoreReason = "stale_attempt" | "future_attempt" | "terminal" | "wrong_job" | "unknown_artifact";

export type EventOutcome =
  | { kind: "ignored"; reason: IgnoreReason }
  /** `redispatch`: the backend failed retryably and another attempt is due. */
  | { kind: "applied"; record: JobRecord; redispatch: boolean };

export interface Limits {
  /** Attempts a job may use in all, the first included. */
  maxAttempts: number;
}

/**
 * Busy answers in a row after which a dispatch gives up: about six hours at the
 * one-minute backoff cap, since one local GPU may be busy with a long training.
 */
export const MAX_BUSY_RETRIES = 360;

function touch(record: JobRecord, now: number): JobRecord {
  return { ...record, updated_at: now };
}

/** Moves `record` to `to` when the state machine allows it; otherwise leaves it. */
function advance(record: JobRecord, to: JobStatus): JobRecord {
  return canTransition(record.kind, record.status, to) ? { ...record, status: to } : record;
}

/** Where a phase sits on the job's path; phases the kind never visits rank -1. */
function pathRank(record: JobRecord, status: JobStatus | JobPhase | null): number {
  return status === null ? -1 : statusesOf(record.kind).indexOf(status as JobStatus);
}

/** Progress only grows: a later phase, or a later step in the same phase, never an earlier one. */
function mergeProgress(record: JobRecord, event: Extract<BackendEvent, { type: "progress" }>): Progress {
  const current = record.progress;
  const eventRank = pathRank(record, event.phase);
  const currentRank = pathRank(record, current.phase);
  if (eventRank < 0 || eventRank < currentRank) return current;
  if (eventRank < pathRank(record, record.status)) return current;
  if (eventRank === currentRank && event.step < current.step) return current;
  return {
    phase: event.phase,
    step: event.step,
    total_steps: event.total_steps,
    loss: event.loss ?? (eventRank === currentRank ? current.loss : null),
    eta_s: event.eta_s ?? null,
  };
}

/** What a training's `succeeded` event says about its result, kept on the record. */
function trainingOutcome(event: Extract<BackendEvent, { type: "succeeded" }>): Pick<TrainingRecord, "quality" | "selected_checkpoint"> {
  return {
    ...(event.quality ? { quality: event.quality } : {}),
    ...(event.selected_checkpoint ? { selected_checkpoint: event.selected_checkpoint } : {}),
  };
}

function recordArtifact(record: JobRecord, event: Extract<BackendEvent, { type: "artifact" }>, key: string): JobRecord {
  const artifact = {
    name: event.name,
    format: event.format,
    key,
    sha256: event.sha256,
    size: event.size,
    content_type: event.content_type,
    ...(event.meta ? { meta: event.meta } : {}),
    attempt: event.attempt,
  };
  return { ...record, artifacts: [...record.artifacts.filter((known) => known.name !== event.name), artifact] };
}

export function applyBackendEvent(record: JobRecord, event: BackendEvent, limits: Limits, now: number): EventOutcome {
  if (event.job_id !== record.id) return { kind: "ignored", reason: "wrong_job" };
  if (event.attempt < record.attempt) return { kind: "ignored", reason: "stale_attempt" };
  if (event.attempt > record.attempt) return { kind: "ignored", reason: "future_attempt" };
  const applied = (next: JobRecord, redispatch = false): EventOutcome => ({
    kind: "applied",
    record: touch(next, now),
    redispatch,
  });
  if (event.type === "artifact") {
    const key = artifactKey(record, event.name);
    if (key === null) return { kind: "ignored", reason: "unknown_artifact" };
    return applied(recordArtifact(record, event, key));
  }
  if (isTerminal(record.status)) return { kind: "ignored", reason: "terminal" };
  switch (event.type) {
    case "started":
      return applied(advance(record, "preparing"));
    case "progress": {
      const progress = mergeProgress(record, event);
      const phaseStatus = statusesOf(record.kind).includes(event.phase) ? (event.phase as JobStatus) : record.status;
      return applied({ ...advance(record, phaseStatus), progress });
    }
    case "sample":
      return applied(record);
    case "succeeded": {
      const succeeded = { ...advance(record, "succeeded"), progress: { ...record.progress, eta_s: 0 } };
      return applied(succeeded.kind === "train" ? { ...succeeded, ...trainingOutcome(event) } : succeeded);
    }
    case "canceled":
      return applied(advance(record, "canceled"));
    case "failed": {
      const error = { code: event.code, message: event.message };
      if (event.retryable && record.attempt < limits.maxAttempts) return applied(record, true);
      return applied(fail(record, error));
    }
  }
}

export function fail(record: JobRecord, error: JobError): JobRecord {
  return canTransition(record.kind, record.status, "failed") ? { ...record, status: "failed", error } : record;
}

/**
 * Starts the next attempt: the one backwards move of the state machine. Progress
 * restarts because the new attempt reports its own (from a checkpoint, if any).
 */
export function redispatch(record: JobRecord, now: number): JobRecord {
  if (!canTransition(record.kind, record.status, "dispatched", true)) return record;
  return {
    ...record,
    status: "dispatched",
    attempt: record.attempt + 1,
    progress: EMPTY_PROGRESS,
    busy_retries: 0,
    backend_ref: undefined,
    updated_at: now,
  };
}

/** Heartbeat expired: the backend went silent, so retry while attempts remain, else fail. */
export function onSilence(record: JobRecord, limits: Limits, now: number): EventOutcome {
  if (isTerminal(record.status)) return { kind: "ignored", reason: "terminal" };
  if (record.attempt < limits.maxAttempts) return { kind: "applied", record: touch(record, now), redispatch: true };
  const error = { code: "heartbeat_timeout", message: `No word from the backend after ${record.attempt} attempt(s)` };
  return { kind: "applied", record: touch(fail(record, error), now), redispatch: false };
}

/** What a backend answered to a dispatch; see `GpuBackend.dispatch`. */
export type DispatchResult =
  | { outcome: "accepted"; ref?: string }
  | { outcome: "busy"; retryAfterMs?: number }
  | { outcome: "rejected"; code: string; message: string };

export function onDispatchResult(record: JobRecord, result: DispatchResult, now: number): JobRecord {
  if (isTerminal(record.status)) return record;
  switch (result.outcome) {
    case "accepted":
      return { ...advance(record, "dispatched"), busy_retries: 0, backend_ref: result.ref, updated_at: now };
    case "busy":
      if (record.busy_retries + 1 > MAX_BUSY_RETRIES) {
        const error = { code: "backend_busy", message: `The ${record.backend} backend stayed busy` };
        return { ...fail(record, error), updated_at: now };
      }
      return { ...record, busy_retries: record.busy_retries + 1, updated_at: now };
    case "rejected":
      return { ...fail(record, { code: result.code, message: result.message }), updated_at: now };
  }
}

/** Exponential backoff for busy backends: 1 s, 2 s, 4 s … capped at a minute. */
export function busyBackoffMs(busyRetries: number, retryAfterMs?: number): number {
  const exponential = Math.min(60_000, 1000 * 2 ** Math.max(0, busyRetries - 1));
  return Math.max(exponential, retryAfterMs ?? 0);
}

export type CancelOutcome = { kind: "canceled"; record: JobRecord } | { kind: "already_terminal"; record: JobRecord };

export function cancel(record: JobRecord, now: number): CancelOutcome {
  if (isTerminal(record.status)) return { kind: "already_terminal", record };
  return { kind: "canceled", record: { ...record, status: "canceled", updated_at: now } };
}
