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

/** Another attempt is due; `counted`: whether it uses up one of MAX_ATTEMPTS (a crash does, a graceful shutdown does not). */
export interface Retry {
  reason: string;
  counted: boolean;
}

export type EventOutcome =
  | { kind: "ignored"; reason: IgnoreReason }
  /** `retry`: the attempt ended without finishing the job and another one is due. */
  | { kind: "applied"; record: JobRecord; retry: Retry | null };

export interface Limits {
  /** Attempts a job may use in all, the first included (graceful shutdowns with a new checkpoint excepted). */
  maxAttempts: number;
  /** Silence after which an attempt counts as crashed, for the messages that say so. */
  heartbeatS: number;
}

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
  const applied = (next: JobRecord, retry: Retry | null = null): EventOutcome => ({
    kind: "applied",
    // Any event of the attempt shows a host has it, whether or not its claim arrived first.
    record: touch({ ...next, awaiting_claim: false }, now),
    retry,
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
      if (!event.retryable) return applied(fail(record, { code: event.code, message: event.message, retryable: false }));
      if (isGracefulShutdown(record, event)) return applied(record, { reason: event.code, counted: false });
      if (record.attempts_used < limits.maxAttempts) return applied(record, { reason: event.code, counted: true });
      return applied(fail(record, lastAttemptError(record, limits, event.code, event.message)));
    }
  }
}

export function fail(record: JobRecord, error: JobError): JobRecord {
  return canTransition(record.kind, record.status, "failed") ? { ...record, status: "failed", error } : record;
}

/** Step of the newest checkpoint reported by `attempt`, or by any attempt before it when `before` is set; -1 when none. */
function checkpointStep(record: JobRecord, attempt: number, before = false): number {
  const steps = record.artifacts
    .filter((artifact) => artifact.format === "checkpoint" && (before ? artifact.attempt < attempt : artifact.attempt === attempt))
    .map((artifact) => Number(artifact.meta?.step ?? -1));
  return Math.max(-1, ...steps);
}

/**
 * A backend that shuts down gracefully saves and reports a checkpoint past the one it
 * resumed from, then reports `backend_shutdown`. Such an attempt lost no work, so the
 * next one is free; requiring progress keeps repeated restarts from looping forever.
 */
export function isGracefulShutdown(record: JobRecord, event: Extract<BackendEvent, { type: "failed" }>): boolean {
  return event.code === "backend_shutdown" && checkpointStep(record, event.attempt) > checkpointStep(record, event.attempt, true);
}

/** The error of an attempt that could have been retried but was the last one: says so, and that sending the job again may work. */
function lastAttemptError(record: JobRecord, limits: Limits, code: string, detail: string): JobError {
  const resumable = checkpointStep(record, record.attempt + 1, true);
  const kept = resumable >= 0 ? ` The checkpoint of step ${resumable} is kept.` : "";
  return {
    code,
    message: `${detail.replace(/\.$/, "")}. That was attempt ${record.attempts_used} of ${limits.maxAttempts}, so the job failed and its credits were released.${kept} Sending it again may succeed.`,
    retryable: true,
  };
}

/**
 * Starts the next attempt: the one backwards move of the state machine. Progress
 * restarts because the new attempt reports its own (from a checkpoint, if any).
 */
export function redispatch(record: JobRecord, counted: boolean, now: number): JobRecord {
  if (!canTransition(record.kind, record.status, "dispatched", true)) return record;
  return {
    ...record,
    status: "dispatched",
    attempt: record.attempt + 1,
    attempts_used: record.attempts_used + (counted ? 1 : 0),
    progress: EMPTY_PROGRESS,
    dispatch_wait: null,
    awaiting_claim: false,
    claimed_by: undefined,
    backend_ref: undefined,
    updated_at: now,
  };
}

/**
 * Heartbeat expired. A running attempt that went silent crashed: retry while
 * attempts remain, else fail. An attempt still waiting in the queue for a GPU host
 * ran nowhere, so the job fails without spending an attempt on it.
 */
export function onSilence(record: JobRecord, limits: Limits, now: number): EventOutcome {
  if (isTerminal(record.status)) return { kind: "ignored", reason: "terminal" };
  if (record.awaiting_claim) {
    const after = record.attempt > 1 ? ` after attempt ${record.attempt - 1} stopped; the job failed` : "; it did not run";
    const error = {
      code: "no_gpu_host",
      message: `No GPU host took the job from the queue in time${after} and was not charged. Send it again later.`,
      retryable: true,
    };
    return { kind: "applied", record: touch(fail(record, error), now), retry: null };
  }
  if (record.attempts_used < limits.maxAttempts) {
    return { kind: "applied", record: touch(record, now), retry: { reason: "heartbeat_timeout", counted: true } };
  }
  const detail = `No word from the GPU backend for ${limits.heartbeatS} s`;
  return { kind: "applied", record: touch(fail(record, lastAttemptError(record, limits, "heartbeat_timeout", detail)), now), retry: null };
}

export type ClaimOutcome =
  | { kind: "claimed"; record: JobRecord }
  | { kind: "refused"; reason: "stale_attempt" | "future_attempt" | "terminal" | "claimed_elsewhere" };

/**
 * A GPU host that pulled an attempt from the queue claims it before running it. Only
 * the current attempt of a live job can be claimed, and only by one host (the same
 * host again is fine: its claim was retried). Everything else is refused, and the
 * host acks and drops its message — so a redelivered message never runs twice.
 */
export function claim(record: JobRecord, attempt: number, host: string, now: number): ClaimOutcome {
  if (isTerminal(record.status)) return { kind: "refused", reason: "terminal" };
  if (attempt < record.attempt) return { kind: "refused", reason: "stale_attempt" };
  if (attempt > record.attempt) return { kind: "refused", reason: "future_attempt" };
  if (record.claimed_by && record.claimed_by !== host) return { kind: "refused", reason: "claimed_elsewhere" };
  return { kind: "claimed", record: { ...record, claimed_by: host, awaiting_claim: false, updated_at: now } };
}

export type CancelOutcome = { kind: "canceled"; record: JobRecord } | { kind: "already_terminal"; record: JobRecord };

export function cancel(record: JobRecord, now: number): CancelOutcome {
  if (isTerminal(record.status)) return { kind: "already_terminal", record };
  return { kind: "canceled", record: { ...record, status: "canceled", updated_at: now } };
}
