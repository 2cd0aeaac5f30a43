/**
 * Structured errors of the backend. A `JobError` carries the machine-readable
 * `code`, a message a user can act on and whether another attempt could succeed;
 * the job runner turns it into the `failed` event as is. `HttpError` is what the
 * HTTP routes throw; one `onError` renders both through the project's envelope
 * `{"error":{"code","message","details?"}}`.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

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

export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function errorEnvelope(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function renderError(error: Error, c: Context) {
  if (error instanceof HttpError) {
    return c.json(errorEnvelope(error.code, error.message, error.details), error.status);
  }
  console.error("unhandled error", error);
  return c.json(errorEnvelope("internal_error", "the backend hit an unexpected error"), 500);
}
