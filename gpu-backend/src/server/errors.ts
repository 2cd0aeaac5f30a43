/**
 * Errors of the backend's HTTP routes. `HttpError` is what a route throws; one
 * `onError` renders it (and anything unexpected) through the project's envelope
 * `{"error":{"code","message","details?"}}`. A job's own failures are `JobError`s
 * (`../jobs/errors.ts`), which the runner reports as `failed` events instead.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

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
