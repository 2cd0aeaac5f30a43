/**
 * How a job fails. A `JobError` carries the machine-readable `code`, a message a
 * user can act on and whether another attempt could succeed; the job runner turns
 * it into the `failed` event as is. `JobCanceled` is thrown at a step boundary
 * after a cancel and becomes the `canceled` event. `AttemptSuperseded` is thrown once
 * the Worker answered 409 (the attempt is stale or the job ended): nothing more is
 * reported, since the Worker would refuse it.
 */
export class JobError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = "JobError";
  }
}

/** Raised at a step boundary once the job was canceled; the runner reports `canceled`. */
export class JobCanceled extends Error {
  constructor() {
    super("job canceled");
    this.name = "JobCanceled";
  }
}

/** Raised at a step boundary once the Worker refused this attempt's events with 409; the runner stops silently. */
export class AttemptSuperseded extends Error {
  constructor(readonly reason: string) {
    super(`the Worker no longer wants this attempt: ${reason}`);
    this.name = "AttemptSuperseded";
  }
}
