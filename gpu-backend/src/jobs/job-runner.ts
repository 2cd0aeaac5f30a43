/**
 * Runs one job at a time. A GPU holds one training's activations and optimizer
 * state; a second job would only thrash it, so a busy runner refuses and the
 * Worker retries later (503). The runner owns the job's lifecycle events:
 * `started` first, then exactly one of `succeeded`, `failed` or `canceled`,
 * delivered (with retries) before the slot frees up. Handlers see a `JobContext`
 * and check `checkpoint()` at step boundaries, which is where cancel, deadline
 * and shutdown take effect.
 */
import type { GenerateJob, JobMessage, TrainJob } from "../../../shared/job.js";
import { EventReporter } from "../server/events.js";
import { fetchVerifiedInput } from "../server/inputs.js";
import { DEFAULT_RETRY, type RetryPolicy } from "../server/retry.js";
import { Uploader } from "../server/uploads.js";
import type { JobContext, JobHandlers } from "./context.js";
import { AttemptSuperseded, JobCanceled, JobError } from "./errors.js";

export interface RunnerOptions {
  secret: string;
  handlers: JobHandlers;
  backend: string;
  device: string;
  retry?: RetryPolicy;
  progressIntervalMs?: number;
}

export type SubmitResult = "accepted" | "duplicate" | "busy" | "shutting_down";

/** How a job ended (`superseded`: the Worker refused the attempt with 409, so nothing was reported). */
export interface JobOutcome {
  type: "succeeded" | "failed" | "canceled" | "superseded";
  retryable: boolean;
}

interface RunningJob {
  job: JobMessage;
  canceled: boolean;
  done: Promise<JobOutcome>;
}

export class JobRunner {
  private running: RunningJob | undefined;
  private stopping = false;

  constructor(private readonly options: RunnerOptions) {}

  get currentJob(): JobMessage | undefined {
    return this.running?.job;
  }

  get queueDepth(): number {
    return this.running ? 1 : 0;
  }

  submit(job: JobMessage): SubmitResult {
    if (this.stopping) return "shutting_down";
    if (this.running) {
      const same = this.running.job.job_id === job.job_id && this.running.job.attempt === job.attempt;
      return same ? "duplicate" : "busy";
    }
    const running: RunningJob = { job, canceled: false, done: Promise.resolve({ type: "succeeded", retryable: false }) };
    running.done = this.run(running).finally(() => {
      this.running = undefined;
    });
    this.running = running;
    return "accepted";
  }

  /** Marks the job canceled; its handler stops at the next step boundary. */
  cancel(jobId: string, attempt: number): boolean {
    const running = this.running;
    if (!running || running.job.job_id !== jobId || running.job.attempt !== attempt) return false;
    running.canceled = true;
    return true;
  }

  /** Refuses new jobs, lets the current one checkpoint and report, then resolves. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    await this.running?.done;
  }

  /** Resolves when the current job (if any) has reported its end, with how it ended. */
  async idle(): Promise<JobOutcome | undefined> {
    return this.running?.done;
  }

  private async run(running: RunningJob): Promise<JobOutcome> {
    const { job } = running;
    const { secret, retry = DEFAULT_RETRY } = this.options;
    const events = new EventReporter({
      jobId: job.job_id,
      attempt: job.attempt,
      callbackUrl: job.callback_url,
      secret,
      retry,
      progressIntervalMs: this.options.progressIntervalMs,
    });
    const uploads = new Uploader({
      jobId: job.job_id,
      attempt: job.attempt,
      callbackUrl: job.callback_url,
      secret,
      events,
      retry,
    });
    const runner = this;
    const context: JobContext = {
      job,
      events,
      uploads,
      fetchInput: (input) => fetchVerifiedInput(input, retry),
      checkpoint() {
        if (events.superseded) throw new AttemptSuperseded(events.superseded);
        if (running.canceled) throw new JobCanceled();
        if (Date.now() > job.deadline) {
          throw new JobError("deadline_exceeded", "the job ran past its deadline; retry with fewer steps", false);
        }
      },
      get shutdownRequested() {
        return runner.stopping;
      },
    };
    void events.emit({ type: "started", backend: this.options.backend, device: this.options.device });
    try {
      const success =
        job.kind === "train"
          ? await this.options.handlers.train(context as JobContext<TrainJob>)
          : await this.options.handlers.generate(context as JobContext<GenerateJob>);
      await events.emit({ type: "succeeded", ...success });
      await events.flush();
      return { type: "succeeded", retryable: false };
    } catch (error) {
      if (error instanceof AttemptSuperseded || events.superseded) {
        console.warn(`job ${job.job_id} attempt ${job.attempt} stopped: ${events.superseded ?? (error as Error).message}`);
        return { type: "superseded", retryable: false };
      }
      const terminal = terminalEvent(error);
      await events.emit(terminal);
      await events.flush();
      return { type: terminal.type, retryable: terminal.type === "failed" && terminal.retryable };
    }
  }
}

function terminalEvent(error: unknown) {
  if (error instanceof JobCanceled) return { type: "canceled" as const };
  if (error instanceof JobError) {
    return { type: "failed" as const, code: error.code, message: error.message, retryable: error.retryable };
  }
  console.error("job failed unexpectedly", error);
  const detail = error instanceof Error ? error.message : String(error);
  return {
    type: "failed" as const,
    code: "internal_error",
    message: `the backend hit an unexpected error: ${detail}`.slice(0, 2000),
    retryable: true,
  };
}
