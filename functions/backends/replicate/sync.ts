/**
 * One Replicate snapshot → the backend events our job object ingests, with every
 * output copied into R2 before the event that records it. Shared by the webhook
 * route (the snapshot Replicate pushed) and the polling fallback (the snapshot we
 * fetched), so both paths produce the same events with the same `seq`s and any
 * mix of them converges on one record. A failed copy throws, leaving the events
 * after it for the next delivery or poll.
 */
import type { BackendEvent } from "../../../shared/index.js";
import { DownloadError } from "./copy-output.js";
import { planSnapshot, type JobShape, type OutputFile, type ReplicateJob } from "./snapshot.js";

export interface SyncTarget {
  job_id: string;
  attempt: number;
  /**
   * Highest `seq` the job object recorded for this attempt: outputs at or below it
   * were copied before and are not fetched again. Other events are all returned;
   * the job object drops the ones it has.
   */
  lastSeq: number;
  copy(file: OutputFile): Promise<{ sha256: string; size: number }>;
}

export async function eventsFromSnapshot(job: ReplicateJob, shape: JobShape, target: SyncTarget): Promise<BackendEvent[]> {
  const plan = planSnapshot(job, shape, Date.now());
  const stamp = { job_id: target.job_id, attempt: target.attempt, ts: Date.now() };
  const events: BackendEvent[] = plan.events.map((body) => ({ ...stamp, ...body }) as BackendEvent);
  for (const file of plan.outputs) {
    if (file.seq <= target.lastSeq) continue;
    try {
      const copied = await target.copy(file);
      events.push({
        ...stamp,
        seq: file.seq,
        type: "artifact",
        name: file.name,
        format: file.format,
        content_type: file.content_type,
        meta: file.meta,
        ...copied,
      });
    } catch (error) {
      // A transient failure is retried by the next webhook or poll; a file Replicate already
      // deleted (it keeps outputs about an hour) is lost for good, and so is the job.
      if (!(error instanceof DownloadError && error.gone)) throw error;
      const reason = error.message;
      events.push({
        ...stamp,
        seq: plan.end?.seq ?? file.seq,
        type: "failed",
        code: "replicate_output_unavailable",
        message: `Could not copy ${file.name} from Replicate: ${reason}`,
        retryable: false,
      });
      return events;
    }
  }
  if (plan.end) events.push({ ...stamp, ...plan.end } as BackendEvent);
  return events;
}
