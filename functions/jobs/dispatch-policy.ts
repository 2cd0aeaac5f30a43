/**
 * What a job does with a backend's answer to a dispatch. "Busy" (every GPU is
 * taken) and "unreachable" (refused, timed out, no answer) are different facts:
 * a busy host is alive and will finish its job, an unreachable one may be gone for
 * good. So each has its own budget of time, counted from the first such answer in
 * a row, and the retry timer never sleeps past the end of that budget — a job
 * always has a deadline, and ends `failed` with `retryable: true` and nothing
 * charged when it passes. Neither uses up an attempt: no work ran.
 */
import type { DispatchWait, JobRecord } from "./record.js";
import { fail } from "./transitions.js";
import { canTransition } from "../../shared/index.js";

/** What a backend answered to a dispatch; see `GpuBackend.dispatch`. */
export type DispatchResult =
  /** `queued`: handed to a queue; the attempt runs once a GPU host claims it. */
  | { outcome: "accepted"; ref?: string; queued?: boolean }
  | { outcome: "busy"; retryAfterMs?: number }
  | { outcome: "unreachable"; reason: string }
  | { outcome: "rejected"; code: string; message: string };

export interface DispatchBudgets {
  /** How long a backend may stay busy before the job fails. */
  busyMs: number;
  /** How long a backend may stay unreachable before the job fails. */
  unreachableMs: number;
}

export interface DispatchDecision {
  record: JobRecord;
  /** When to dispatch again; null when the answer was final (accepted, rejected, or a budget spent). */
  retryInMs: number | null;
}

/** Backoff caps: a busy GPU frees up in minutes; a restarting host comes back in seconds. */
const BACKOFF_CAP_MS = { busy: 60_000, unreachable: 15_000 } as const;

/** Exponential backoff from one second, capped per reason, never shorter than the backend's Retry-After. */
export function dispatchBackoffMs(wait: Pick<DispatchWait, "reason" | "retries">, retryAfterMs?: number): number {
  const exponential = Math.min(BACKOFF_CAP_MS[wait.reason], 1000 * 2 ** Math.max(0, wait.retries - 1));
  return Math.max(exponential, retryAfterMs ?? 0);
}

function nextWait(previous: DispatchWait | null, reason: DispatchWait["reason"], now: number): DispatchWait {
  return previous?.reason === reason ? { ...previous, retries: previous.retries + 1 } : { reason, since: now, retries: 1 };
}

function budgetSpentError(record: JobRecord, wait: DispatchWait, now: number) {
  const seconds = Math.round((now - wait.since) / 1000);
  const what = wait.reason === "busy" ? `Every GPU of the ${record.backend} backend stayed busy` : `The ${record.backend} backend could not be reached`;
  // A re-dispatch follows an attempt that did run: say so rather than "did not run".
  const ran = record.attempt > 1 ? ` after attempt ${record.attempt - 1} stopped` : "";
  const outcome = record.attempt > 1 ? "the job failed and was not charged" : "the job did not run and was not charged";
  return { code: wait.reason === "busy" ? "backend_busy" : "backend_unreachable", message: `${what} for ${seconds} s${ran}; ${outcome}. Send it again later.`, retryable: true };
}

export function onDispatchResult(record: JobRecord, result: DispatchResult, budgets: DispatchBudgets, now: number): DispatchDecision {
  switch (result.outcome) {
    case "accepted": {
      const dispatched = canTransition(record.kind, record.status, "dispatched") ? "dispatched" : record.status;
      const next = { ...record, status: dispatched, dispatch_wait: null, awaiting_claim: result.queued === true, backend_ref: result.ref };
      return { record: { ...next, updated_at: now }, retryInMs: null };
    }
    case "rejected":
      return { record: { ...fail(record, { code: result.code, message: result.message, retryable: false }), updated_at: now }, retryInMs: null };
    case "busy":
    case "unreachable": {
      const wait = nextWait(record.dispatch_wait, result.outcome, now);
      const budget = result.outcome === "busy" ? budgets.busyMs : budgets.unreachableMs;
      const left = wait.since + budget - now;
      if (left <= 0) return { record: { ...fail(record, budgetSpentError(record, wait, now)), dispatch_wait: wait, updated_at: now }, retryInMs: null };
      const retryAfterMs = result.outcome === "busy" ? result.retryAfterMs : undefined;
      return { record: { ...record, dispatch_wait: wait, updated_at: now }, retryInMs: Math.min(left, dispatchBackoffMs(wait, retryAfterMs)) };
    }
  }
}
