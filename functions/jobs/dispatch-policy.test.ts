import { describe, expect, it } from "vitest";
import { dispatchBackoffMs, onDispatchResult } from "./dispatch-policy.js";
import type { JobRecord } from "./record.js";
import { at, trainingRecord } from "../../test/helpers/job-fixtures.js";

const budgets = { busyMs: 60_000, unreachableMs: 20_000 };

/** Feeds the same answer at the times given, as the dispatch timer would, and returns each decision. */
function answerAt(times: number[], result: Parameters<typeof onDispatchResult>[1], start: JobRecord = trainingRecord()) {
  let record = start;
  return times.map((now) => {
    const decision = onDispatchResult(record, result, budgets, now);
    record = decision.record;
    return decision;
  });
}

describe("dispatch answers", () => {
  it("accepted moves queued to dispatched, but never back from a later status; queued marks it awaiting a claim", () => {
    expect(onDispatchResult(trainingRecord(), { outcome: "accepted", ref: "r1" }, budgets, 0).record).toMatchObject({ status: "dispatched", backend_ref: "r1", awaiting_claim: false });
    expect(onDispatchResult(at(trainingRecord(), "preparing"), { outcome: "accepted" }, budgets, 0).record.status).toBe("preparing");
    expect(onDispatchResult(trainingRecord(), { outcome: "accepted", queued: true }, budgets, 0)).toMatchObject({ record: { awaiting_claim: true }, retryInMs: null });
  });

  it("an unreachable backend is retried within its own budget, then fails retryable and uncharged", () => {
    const decisions = answerAt([0, 1000, 3000, 7000, 15_000, 20_000], { outcome: "unreachable", reason: "ECONNREFUSED" });
    expect(decisions.slice(0, 5).map((decision) => decision.retryInMs)).toEqual([1000, 2000, 4000, 8000, 5000]);
    expect(decisions[4].record.dispatch_wait).toEqual({ reason: "unreachable", since: 0, retries: 5 });
    expect(decisions[5]).toMatchObject({ retryInMs: null, record: { status: "failed", error: { code: "backend_unreachable", retryable: true } } });
    expect(decisions[5].record.error!.message).toBe("The container backend could not be reached for 20 s; the job did not run and was not charged. Send it again later.");
    const afterCrash = answerAt([0, 20_000], { outcome: "unreachable", reason: "ECONNREFUSED" }, { ...trainingRecord(), attempt: 2 })[1].record;
    expect(afterCrash.error!.message).toBe("The container backend could not be reached for 20 s after attempt 1 stopped; the job failed and was not charged. Send it again later.");
  });

  it("busy has its own, longer budget and honours Retry-After; switching reason starts the new budget", () => {
    const [first] = answerAt([0], { outcome: "busy", retryAfterMs: 30_000 });
    expect(first).toMatchObject({ retryInMs: 30_000, record: { dispatch_wait: { reason: "busy", since: 0, retries: 1 } } });
    const afterUnreachable = answerAt([0, 19_000], { outcome: "unreachable", reason: "timeout" })[1].record;
    const busy = onDispatchResult(afterUnreachable, { outcome: "busy" }, budgets, 25_000);
    expect(busy).toMatchObject({ retryInMs: 1000, record: { status: "queued", dispatch_wait: { reason: "busy", since: 25_000, retries: 1 } } });
    const spent = onDispatchResult(busy.record, { outcome: "busy" }, budgets, 85_000);
    expect(spent.record).toMatchObject({ status: "failed", error: { code: "backend_busy", retryable: true } });
  });

  it("accepted clears the wait, so a later outage has a full budget again", () => {
    const waiting = answerAt([0], { outcome: "unreachable", reason: "x" })[0].record;
    expect(onDispatchResult(waiting, { outcome: "accepted" }, budgets, 5).record.dispatch_wait).toBeNull();
  });

  it("rejected fails the job at once with the backend's code, not retryable", () => {
    expect(onDispatchResult(trainingRecord(), { outcome: "rejected", code: "bad_params", message: "no" }, budgets, 0).record).toMatchObject({
      status: "failed",
      error: { code: "bad_params", message: "no", retryable: false },
    });
  });

  it("backs off exponentially from one second, a minute at most when busy and 15 s when unreachable", () => {
    const busy = [1, 2, 3, 4, 7, 20].map((retries) => dispatchBackoffMs({ reason: "busy", retries }));
    expect(busy).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000]);
    expect(dispatchBackoffMs({ reason: "unreachable", retries: 9 })).toBe(15_000);
    expect(dispatchBackoffMs({ reason: "busy", retries: 1 }, 30_000)).toBe(30_000);
  });
});
