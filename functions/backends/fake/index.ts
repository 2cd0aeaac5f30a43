/**
 * The `fake` backend, for tests and dry runs (like Astria's `branch=fast`): it
 * accepts every job and, each time the job object polls it, plays the next stage of
 * `fakeStages` — real `BackendEvent`s through the same `ingest` path a GPU backend's
 * signed events take, and placeholder files written to the job's own R2 keys. A
 * training reaches `succeeded` with weights in a few seconds.
 */
import type { BackendEvent } from "../../../shared/index.js";
import type { GpuBackend, PollRequest } from "../types.js";
import { fakeStages, type FakeStep } from "./script.js";

/** The events of the first stage holding an event after `lastSeq`, numbered across all stages. */
async function nextEvents(request: PollRequest): Promise<BackendEvent[]> {
  const { message, lastSeq, store } = request;
  let seq = 0;
  for (const stage of fakeStages(message)) {
    const firstSeq = seq;
    seq += stage.length;
    if (seq - 1 <= lastSeq) continue;
    const events: BackendEvent[] = [];
    for (const [offset, step] of stage.entries()) {
      if (firstSeq + offset <= lastSeq) continue;
      events.push(await toEvent(step, request, firstSeq + offset));
    }
    return events;
  }
  return [];
}

async function toEvent(step: FakeStep, request: PollRequest, seq: number): Promise<BackendEvent> {
  const common = { job_id: request.message.job_id, attempt: request.message.attempt, seq, ts: Date.now() };
  if (step.kind === "file") {
    const stored = await request.store.put(step.name, await step.body(), step.content_type);
    return {
      ...common,
      type: "artifact",
      name: step.name,
      format: step.format,
      sha256: stored.sha256,
      size: stored.size,
      content_type: step.content_type,
      ...(step.meta ? { meta: step.meta } : {}),
    };
  }
  const { kind: _kind, ...event } = step;
  return { ...common, ...event } as BackendEvent;
}

export function fakeBackend(options: { stepMs: number }): GpuBackend {
  return {
    name: "fake",
    pollIntervalMs: options.stepMs,
    dispatch: async () => ({ outcome: "accepted" }),
    cancel: async () => undefined,
    poll: nextEvents,
  };
}
