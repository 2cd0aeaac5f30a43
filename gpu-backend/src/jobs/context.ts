/**
 * What a job handler sees and returns, independent of how the job arrived (push
 * or queue) or how its events travel: the message, an event reporter, upload
 * slots, verified input fetches, and `checkpoint()` at step boundaries, where
 * cancel, deadline and shutdown take effect.
 */
import type { ARTIFACT_FORMATS, ArtifactName, BackendEvent, GenerateJob, JobMessage, TrainJob } from "../../../shared/job.js";
import type { EventReporter } from "../server/events.js";
import type { InputToFetch } from "../server/inputs.js";
import type { Uploader } from "../server/uploads.js";
import { JobError } from "./errors.js";

export interface JobContext<J extends JobMessage = JobMessage> {
  job: J;
  events: EventReporter;
  uploads: Uploader;
  fetchInput(input: InputToFetch): Promise<Uint8Array>;
  /** Throws `JobCanceled` after a cancel, `AttemptSuperseded` after a 409 and `JobError` past the deadline; call once per step. */
  checkpoint(): void;
  /** True once the process was asked to stop: save a checkpoint, then throw `shutdownError()`. */
  readonly shutdownRequested: boolean;
}

export type JobMetrics = Record<string, number>;

/** What a finished job reports in its `succeeded` event: metrics, and for trainings the quality and the exported step. */
export type JobSuccess = Pick<Extract<BackendEvent, { type: "succeeded" }>, "metrics" | "quality" | "selected_checkpoint">;

export interface JobHandlers {
  train(context: JobContext<TrainJob>): Promise<JobSuccess>;
  generate(context: JobContext<GenerateJob>): Promise<JobSuccess>;
}

/**
 * What a handler throws when the process is asked to stop, after saving what it can.
 * The message states only what is true now; the Worker decides whether another attempt follows.
 */
export function shutdownError(savedStep?: number): JobError {
  const saved = savedStep === undefined ? "before it had a checkpoint to save" : `after saving the checkpoint of step ${savedStep}`;
  return new JobError("backend_shutdown", `the GPU backend shut down ${saved}`, true);
}

export type ArtifactFormat = (typeof ARTIFACT_FORMATS)[number];

export interface Artifact {
  name: ArtifactName;
  bytes: Uint8Array;
  contentType: string;
  format: ArtifactFormat;
  meta?: Record<string, string | number | boolean>;
}
