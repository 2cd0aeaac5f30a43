/**
 * A Replicate training or prediction, as a webhook delivers it or `GET` returns
 * it, turned into our backend events. Replicate sends whole snapshots, not
 * increments, and may deliver them twice or out of order; so every event's `seq`
 * is a pure function of what it says (1 = started, 100 + step = progress at that
 * step, 20 000 + i = the i-th output copied, 30 000 = the end), and the job
 * object's (attempt, seq) dedupe plus its forward-only state machine make any
 * delivery order converge on the same record.
 *
 * A live job also yields one "still alive" progress event per minute of its age
 * (10 200 + minutes): Replicate may queue or boot for longer than our heartbeat
 * allows, or print no new step for a while, and without a fresh event the job
 * object would take the silence for a lost backend and start the job again.
 * Pure: the copying of outputs is the caller's.
 */
import { z } from "zod";
import type { ARTIFACT_FORMATS, BackendEvent } from "../../../shared/index.js";
import { parseLogProgress } from "./log-progress.js";

const REPLICATE_STATUSES = ["starting", "processing", "succeeded", "failed", "canceled", "aborted"] as const;

export const ReplicateJobSchema = z.looseObject({
  id: z.string().min(1),
  status: z.enum(REPLICATE_STATUSES),
  logs: z.string().nullish(),
  error: z.unknown().nullish(),
  output: z.unknown().nullish(),
  created_at: z.string().nullish(),
});
export type ReplicateJob = z.infer<typeof ReplicateJobSchema>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the job's id, attempt and timestamp are stamped on. */
export type EventBody = DistributiveOmit<BackendEvent, "job_id" | "attempt" | "ts">;

const SEQ = { started: 1, progress: 100, alive: 10_200, output: 20_000, end: 30_000 } as const;

/** Minutes of age the liveness band can count before it would reach the outputs' seqs. */
const MAX_ALIVE_MINUTES = 9_000;

function aliveSeq(job: ReplicateJob, nowMs: number): number {
  const created = Date.parse(job.created_at ?? "");
  const minutes = Number.isNaN(created) ? 0 : Math.floor((nowMs - created) / 60_000);
  return SEQ.alive + Math.min(MAX_ALIVE_MINUTES, Math.max(0, minutes));
}

/** A file Replicate produced, to be copied into R2 before the job may end. */
export interface OutputFile {
  seq: number;
  url: string;
  name: string;
  format: (typeof ARTIFACT_FORMATS)[number];
  content_type: string;
  meta: Record<string, string | number | boolean>;
}

/** What the plan needs of a job; a job message and a job record both have it. */
export type JobShape =
  | { kind: "train"; params: { steps: number } }
  | { kind: "generate"; params: { steps: number; seed: number; width: number; height: number } };

export interface SnapshotPlan {
  events: EventBody[];
  outputs: OutputFile[];
  end?: EventBody;
}

function errorText(error: unknown): string {
  if (typeof error === "string" && error.trim()) return error.slice(0, 2000);
  if (error && typeof error === "object") return JSON.stringify(error).slice(0, 2000);
  return "Replicate reported the job failed without a reason";
}

function outputFiles(job: ReplicateJob, message: JobShape): OutputFile[] | null {
  if (message.kind === "train") {
    const output = z.object({ weights: z.url(), version: z.string().optional() }).safeParse(job.output);
    if (!output.success) return null;
    return [
      {
        seq: SEQ.output,
        url: output.data.weights,
        name: "artifacts/trained_model.tar",
        format: "cog-sdxl-lora",
        content_type: "application/x-tar",
        meta: output.data.version ? { replicate_version: output.data.version } : {},
      },
    ];
  }
  const images = z.array(z.url()).min(1).safeParse(typeof job.output === "string" ? [job.output] : job.output);
  if (!images.success) return null;
  return images.data.map((url, index) => {
    const extension = /\.(png|jpe?g|webp)(?:\?|$)/i.exec(url)?.[1]?.toLowerCase().replace("jpg", "jpeg") ?? "png";
    return {
      seq: SEQ.output + index,
      url,
      name: `images/${index}.${extension === "jpeg" ? "jpg" : extension}`,
      format: "image",
      content_type: `image/${extension}`,
      meta: { index, seed: message.params.seed, width: message.params.width, height: message.params.height },
    };
  });
}

export function planSnapshot(job: ReplicateJob, message: JobShape, nowMs: number = Date.now()): SnapshotPlan {
  const phase = message.kind === "train" ? "training" : "generating";
  // Training steps or sampling steps: the total the job's log bars count.
  const total = message.params.steps;
  const events: EventBody[] = [];
  if (job.status === "starting") {
    const waiting = "Replicate is queueing or booting the model";
    const seq = aliveSeq(job, nowMs);
    events.push({ seq, type: "progress", phase: "preparing", step: 0, total_steps: total, message: waiting });
    return { events, outputs: [] };
  }
  if (job.status === "canceled") return { events, outputs: [], end: { seq: SEQ.end, type: "canceled" } };
  if (job.status === "aborted") {
    const message = "Replicate aborted the job before it ran (e.g. it passed its deadline in the queue)";
    return { events, outputs: [], end: { seq: SEQ.end, type: "failed", code: "replicate_aborted", message, retryable: true } };
  }
  events.push({ seq: SEQ.started, type: "started", backend: "replicate", device: "replicate" });
  if (job.status === "failed") {
    const reason = errorText(job.error);
    const end: EventBody = { seq: SEQ.end, type: "failed", code: "replicate_failed", message: reason, retryable: false };
    return { events, outputs: [], end };
  }
  const progress = parseLogProgress(job.logs, total);
  const step = job.status === "succeeded" ? total : (progress?.step ?? 0);
  const report = {
    type: "progress",
    // Before the trainer's own bar appears it is downloading and captioning the photos.
    phase: progress || job.status === "succeeded" ? phase : "preparing",
    step,
    total_steps: total,
    ...(progress?.loss !== undefined ? { loss: progress.loss } : {}),
  } as const;
  events.push({ seq: SEQ.progress + step, ...report });
  if (job.status === "processing") {
    events.push({ seq: aliveSeq(job, nowMs), ...report });
    return { events, outputs: [] };
  }
  const outputs = outputFiles(job, message);
  if (!outputs) {
    const end: EventBody = {
      seq: SEQ.end,
      type: "failed",
      code: "replicate_no_output",
      message: "Replicate reported success but returned no output we recognise",
      retryable: false,
    };
    return { events, outputs: [], end };
  }
  return { events, outputs, end: { seq: SEQ.end, type: "succeeded" } };
}
