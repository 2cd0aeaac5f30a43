import { describe, expect, it } from "vitest";
import { JOB_STATUSES, type JobStatus } from "../../shared/index.js";
import { applyBackendEvent, cancel, claim, onSilence, redispatch } from "./transitions.js";
import type { JobRecord } from "./record.js";
import { at, eventFor, generationRecord, SHA, trainingRecord } from "../../test/helpers/job-fixtures.js";

const limits = { maxAttempts: 3, heartbeatS: 30 };
const TRAIN_PATH: JobStatus[] = ["queued", "dispatched", "preparing", "training", "exporting", "succeeded"];
const GENERATE_PATH: JobStatus[] = ["queued", "dispatched", "preparing", "generating", "exporting", "succeeded"];
const TERMINAL: JobStatus[] = ["succeeded", "failed", "canceled"];

function statusAfter(record: JobRecord, draft: Parameters<typeof eventFor>[1]): JobStatus | "ignored" {
  const outcome = applyBackendEvent(record, eventFor(record, draft), limits, 2000);
  return outcome.kind === "ignored" ? "ignored" : outcome.record.status;
}

describe("backend events move a job only forward", () => {
  for (const [kind, path, make] of [
    ["train", TRAIN_PATH, trainingRecord],
    ["generate", GENERATE_PATH, generationRecord],
  ] as const) {
    const live = path.filter((status) => !TERMINAL.includes(status));
    const work = kind === "train" ? "training" : "generating";
    const wrongWork = kind === "train" ? "generating" : "training";

    it(`${kind}: every phase event from every live status goes forward or stays`, () => {
      for (const from of live) {
        const record = at(make(), from);
        const rank = path.indexOf(from);
        const expectMove = (to: JobStatus) => (path.indexOf(to) > rank ? to : from);
        expect(statusAfter(record, { type: "started", backend: "b", device: "d" }), `${from} + started`).toBe(expectMove("preparing"));
        for (const phase of ["preparing", work, "exporting"] as const) {
          const draft = { type: "progress" as const, phase, step: 1, total_steps: 2 };
          expect(statusAfter(record, draft), `${from} + progress ${phase}`).toBe(expectMove(phase));
        }
        // A phase the kind never visits moves nothing.
        expect(statusAfter(record, { type: "progress", phase: wrongWork, step: 1, total_steps: 2 })).toBe(from);
        expect(statusAfter(record, { type: "succeeded" })).toBe("succeeded");
        expect(statusAfter(record, { type: "canceled" })).toBe("canceled");
        expect(statusAfter(record, { type: "failed", code: "oom", message: "out of memory", retryable: false })).toBe("failed");
        expect(statusAfter(record, { type: "sample", step: 1, prompt: "p", seed: 1, artifact: "samples/a.png" })).toBe(from);
      }
    });

    it(`${kind}: a terminal job is never left`, () => {
      for (const from of TERMINAL) {
        const record = at(make(), from);
        expect(statusAfter(record, { type: "started", backend: "b", device: "d" })).toBe("ignored");
        expect(statusAfter(record, { type: "progress", phase: work, step: 5, total_steps: 9 })).toBe("ignored");
        for (const type of ["succeeded", "canceled"] as const) expect(statusAfter(record, { type })).toBe("ignored");
        expect(statusAfter(record, { type: "failed", code: "x", message: "y", retryable: true })).toBe("ignored");
        expect(onSilence(record, limits, 0).kind).toBe("ignored");
        expect(redispatch(record, true, 0)).toBe(record);
        expect(cancel(record, 0).kind).toBe("already_terminal");
      }
    });
  }

  it("keeps a training's quality report and exported step from its succeeded event on the record", () => {
    const quality = {
      version: 1 as const,
      base_model: "tiny-emoji",
      subject: { identifier: "qxv", class_noun: "dog" },
      subject_fidelity: 0.5,
      prompt_fidelity: 0.9,
      prior_preservation_similarity: 0.3,
      class_recognized: 0.5,
      diversity: 0.2,
      judge: { name: "j", note: "n" },
      sampling: { scheduler: "ddim", steps: 20, guidance_scale: 4, seeds: [11] },
      prompts: [],
    };
    const selected = { selection: "best" as const, step: 400, reason: "highest subject fidelity", candidates: [{ step: 400, subject_fidelity: 0.5, prompt_fidelity: 0.9 }] };
    const record = at(trainingRecord(), "exporting");
    const outcome = applyBackendEvent(record, eventFor(record, { type: "succeeded", quality, selected_checkpoint: selected }), limits, 2000);
    expect(outcome).toMatchObject({ kind: "applied", record: { status: "succeeded", quality, selected_checkpoint: selected } });
    // A backend that sends neither (the fake and Replicate backends) leaves the record without them.
    const plain = applyBackendEvent(record, eventFor(record, { type: "succeeded" }), limits, 2000);
    expect(plain.kind === "applied" && "quality" in plain.record).toBe(false);
    const generation = at(generationRecord(), "generating");
    const generated = applyBackendEvent(generation, eventFor(generation, { type: "succeeded", quality }), limits, 2000);
    expect(generated.kind === "applied" && "quality" in generated.record).toBe(false);
  });

  it("records artifacts that arrive after succeeded, without leaving succeeded", () => {
    const record = at(trainingRecord(), "succeeded");
    const outcome = applyBackendEvent(
      record,
      eventFor(record, { type: "artifact", name: "artifacts/w.safetensors", format: "diffusers-lora", sha256: SHA, size: 3, content_type: "application/octet-stream" }),
      limits,
      2000,
    );
    expect(outcome.kind).toBe("applied");
    if (outcome.kind !== "applied") return;
    expect(outcome.record.status).toBe("succeeded");
    expect(outcome.record.artifacts).toEqual([
      expect.objectContaining({ name: "artifacts/w.safetensors", key: "accounts/acc_a/trainings/trn_00000000000000000000/artifacts/w.safetensors", attempt: 1 }),
    ]);
  });

  it("ignores events of an earlier or later attempt and of another job", () => {
    const record = at({ ...trainingRecord(), attempt: 2 }, "training");
    const progress = { type: "progress" as const, phase: "exporting" as const, step: 1, total_steps: 1 };
    expect(applyBackendEvent(record, eventFor(record, progress, { attempt: 1 }), limits, 0)).toEqual({ kind: "ignored", reason: "stale_attempt" });
    expect(applyBackendEvent(record, eventFor(record, progress, { attempt: 3 }), limits, 0)).toEqual({ kind: "ignored", reason: "future_attempt" });
    expect(applyBackendEvent(record, eventFor(record, progress, { job_id: "trn_other" }), limits, 0)).toEqual({ kind: "ignored", reason: "wrong_job" });
  });

  it("keeps progress from going backwards when events arrive out of order", () => {
    let record: JobRecord = at(trainingRecord(), "dispatched");
    const apply = (draft: Parameters<typeof eventFor>[1]) => {
      const outcome = applyBackendEvent(record, eventFor(record, draft), limits, 0);
      if (outcome.kind === "applied") record = outcome.record;
    };
    apply({ type: "progress", phase: "training", step: 30, total_steps: 100, loss: 0.3, eta_s: 70 });
    apply({ type: "progress", phase: "training", step: 20, total_steps: 100, loss: 0.4, eta_s: 80 });
    apply({ type: "progress", phase: "preparing", step: 1, total_steps: 1 });
    apply({ type: "started", backend: "b", device: "d" });
    expect(record.status).toBe("training");
    expect(record.progress).toEqual({ phase: "training", step: 30, total_steps: 100, loss: 0.3, eta_s: 70 });
    apply({ type: "progress", phase: "training", step: 40, total_steps: 100 });
    expect(record.progress).toMatchObject({ step: 40, loss: 0.3 });
    apply({ type: "progress", phase: "exporting", step: 0, total_steps: 1 });
    expect(record.progress).toMatchObject({ phase: "exporting", step: 0, loss: null });
  });

  it("refuses artifact names the job has no place for", () => {
    const generation = at(generationRecord(), "generating");
    const bundle = { type: "artifact" as const, name: "class-images", format: "class-images" as const, sha256: SHA, size: 1, content_type: "x/y" };
    expect(applyBackendEvent(generation, eventFor(generation, bundle), limits, 0)).toEqual({ kind: "ignored", reason: "unknown_artifact" });
    const training = at(trainingRecord(), "preparing");
    const applied = applyBackendEvent(training, eventFor(training, bundle), limits, 0);
    expect(applied.kind === "applied" && applied.record.artifacts[0].key).toBe("class-images/sd15/cafe.bundle");
  });
});

/** A checkpoint artifact of `attempt` at `step`, as the backend reports it. */
function withCheckpoint(record: JobRecord, attempt: number, step: number): JobRecord {
  const name = `checkpoints/step-${step}.safetensors`;
  const artifact = { name, format: "checkpoint" as const, key: name, sha256: SHA, size: 1, content_type: "x/y", meta: { step }, attempt };
  return { ...record, artifacts: [...record.artifacts, artifact] };
}

describe("retries: failures, silence, re-dispatch", () => {
  const oom = { type: "failed" as const, code: "oom", message: "out of memory", retryable: true };
  const shutdown = { type: "failed" as const, code: "backend_shutdown", message: "the backend shut down after saving the checkpoint of step 20", retryable: true };

  it("re-dispatches a retryable failure while attempts remain, counting it", () => {
    const first = at(trainingRecord(), "training");
    expect(applyBackendEvent(first, eventFor(first, oom), limits, 0)).toMatchObject({ kind: "applied", retry: { reason: "oom", counted: true } });
  });

  it("fails on the last attempt with a message that says so and retryable: true", () => {
    const last = withCheckpoint(at({ ...trainingRecord(), attempt: 3, attempts_used: 3 }, "training"), 2, 40);
    const outcome = applyBackendEvent(last, eventFor(last, oom), limits, 0);
    expect(outcome).toMatchObject({ kind: "applied", retry: null, record: { status: "failed", error: { code: "oom", retryable: true } } });
    const message = outcome.kind === "applied" ? outcome.record.error!.message : "";
    expect(message).toMatch(/^out of memory\. That was attempt 3 of 3, so the job failed/);
    expect(message).toContain("The checkpoint of step 40 is kept.");
    expect(message).not.toMatch(/resumes/);
  });

  it("a permanent failure fails at once with retryable: false, whatever attempts remain", () => {
    const first = at(trainingRecord(), "training");
    const bad = { type: "failed" as const, code: "invalid_photo", message: "a.png is not an image", retryable: false };
    expect(applyBackendEvent(first, eventFor(first, bad), limits, 0)).toMatchObject({
      retry: null,
      record: { status: "failed", error: { code: "invalid_photo", message: "a.png is not an image", retryable: false } },
    });
  });

  it("a graceful shutdown that saved a newer checkpoint does not use up an attempt, even on the last one", () => {
    const last = withCheckpoint(withCheckpoint(at({ ...trainingRecord(), attempt: 3, attempts_used: 3 }, "training"), 2, 10), 3, 20);
    const outcome = applyBackendEvent(last, eventFor(last, shutdown), limits, 0);
    expect(outcome).toMatchObject({ kind: "applied", retry: { reason: "backend_shutdown", counted: false } });
    const next = redispatch(last, false, 5);
    expect(next).toMatchObject({ attempt: 4, attempts_used: 3, status: "dispatched" });
  });

  it("a shutdown without a new checkpoint counts like a crash", () => {
    const noCheckpoint = at({ ...trainingRecord(), attempt: 2, attempts_used: 2 }, "preparing");
    expect(applyBackendEvent(noCheckpoint, eventFor(noCheckpoint, shutdown), limits, 0)).toMatchObject({ retry: { counted: true } });
    // Reporting only the checkpoint it resumed from is no progress either.
    const stale = withCheckpoint(withCheckpoint(at({ ...trainingRecord(), attempt: 3, attempts_used: 3 }, "training"), 2, 20), 3, 20);
    expect(applyBackendEvent(stale, eventFor(stale, shutdown), limits, 0)).toMatchObject({ retry: null, record: { status: "failed" } });
  });

  it("turns silence into a counted attempt, or a heartbeat_timeout failure at the last one", () => {
    expect(onSilence(at(trainingRecord(), "training"), limits, 0)).toMatchObject({ kind: "applied", retry: { reason: "heartbeat_timeout", counted: true } });
    const last = at({ ...trainingRecord(), attempt: 4, attempts_used: 3 }, "training");
    const outcome = onSilence(last, limits, 0);
    expect(outcome).toMatchObject({ retry: null, record: { status: "failed", error: { code: "heartbeat_timeout", retryable: true } } });
    expect(outcome.kind === "applied" && outcome.record.error!.message).toMatch(/^No word from the GPU backend for 30 s\. That was attempt 3 of 3/);
  });

  it("silence while an attempt still waits in the queue fails the job without spending an attempt", () => {
    const queued = { ...at(trainingRecord(), "dispatched"), awaiting_claim: true };
    expect(onSilence(queued, limits, 0)).toMatchObject({ retry: null, record: { status: "failed", error: { code: "no_gpu_host", retryable: true } } });
    const requeued = onSilence({ ...queued, attempt: 2 }, limits, 0);
    expect(requeued.kind === "applied" && requeued.record.error!.message).toBe(
      "No GPU host took the job from the queue in time after attempt 1 stopped; the job failed and was not charged. Send it again later.",
    );
  });

  it("re-dispatch is the one backwards move: attempt+1 at dispatched, progress and claim reset", () => {
    for (const from of JOB_STATUSES.filter((status) => !TERMINAL.includes(status) && status !== "generating")) {
      const record = { ...at(trainingRecord(), from), claimed_by: "host-a", progress: { phase: "training" as const, step: 9, total_steps: 10, loss: 1, eta_s: 1 } };
      const next = redispatch(record, true, 5);
      expect(next).toMatchObject({ status: "dispatched", attempt: 2, attempts_used: 2, dispatch_wait: null, updated_at: 5 });
      expect(next.claimed_by).toBeUndefined();
      expect(next.progress.step).toBe(0);
    }
  });
});

describe("claims of queued attempts", () => {
  it("gives the current attempt to one host only, again to the same host, never a stale or finished one", () => {
    const queued = { ...at({ ...trainingRecord(), attempt: 2 }, "dispatched"), awaiting_claim: true };
    const first = claim(queued, 2, "host-a", 7);
    expect(first).toMatchObject({ kind: "claimed", record: { claimed_by: "host-a", awaiting_claim: false } });
    const claimed = first.kind === "claimed" ? first.record : queued;
    expect(claim(claimed, 2, "host-a", 8).kind).toBe("claimed");
    expect(claim(claimed, 2, "host-b", 8)).toEqual({ kind: "refused", reason: "claimed_elsewhere" });
    expect(claim(claimed, 1, "host-b", 8)).toEqual({ kind: "refused", reason: "stale_attempt" });
    expect(claim(claimed, 3, "host-b", 8)).toEqual({ kind: "refused", reason: "future_attempt" });
    expect(claim(at(claimed, "succeeded"), 2, "host-a", 8)).toEqual({ kind: "refused", reason: "terminal" });
  });
});

describe("cancel", () => {
  it("cancels any live job", () => {
    for (const from of TRAIN_PATH.filter((status) => !TERMINAL.includes(status))) {
      expect(cancel(at(trainingRecord(), from), 0)).toMatchObject({ kind: "canceled", record: { status: "canceled" } });
    }
  });
});
