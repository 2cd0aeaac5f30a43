/**
 * The one error envelope, `{"error":{"code","message","details?"}}`, and the handlers
 * that produce it. Handlers throw `ApiError`; Hono's own `HTTPException`s (malformed
 * JSON, 415 from the OpenAPI media-type gate, 413 from `bodyLimit`) and zod failures
 * are mapped here too, so no route formats an error itself and nothing a client
 * sends can surface as a 5xx.
 */
import { z, type Hook } from "@hono/zod-openapi";
import { parseJsonBody } from "../shared/json-body.js";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. `Retry-After` on a 429 raised below the route. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Codes for errors raised by Hono itself rather than by our handlers. */
const CODE_BY_STATUS: Partial<Record<number, string>> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

function sendError(c: Context, error: ApiError): Response {
  const body = { error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } };
  return c.json(body, error.status, error.headers);
}

export const onError: ErrorHandler = (err, c) => {
  if (err instanceof ApiError) return sendError(c, err);
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return sendError(c, new ApiError(status, CODE_BY_STATUS[status] ?? "http_error", err.message || "Request failed"));
  }
  console.error("unhandled error", err);
  return sendError(c, new ApiError(500, "internal_error", "Internal error"));
};

/** A Hono route pattern (`/v1/subjects/:id`, `/files/:key{.+}`, `*`) as a whole-path regex. */
export function routePatternRegExp(pattern: string): RegExp {
  const source = pattern
    .split(/(:\w+(?:\{[^}]+\})?\??|\*)/)
    .map((part) => {
      if (part === "*") return ".*";
      const param = /^:\w+(?:\{([^}]+)\})?(\?)?$/.exec(part);
      if (param) return `(?:${param[1] ?? "[^/]+"})${param[2] ?? ""}`;
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${source}/?$`);
}

/**
 * Hono answers every unmatched request with its not-found handler; this one says
 * 405 (with `Allow`) when the path exists under another method, 404 otherwise.
 */
export function notFoundHandler(routes: () => readonly { method: string; path: string }[]): NotFoundHandler {
  return (c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = new Set(
      routes()
        .filter((route) => route.method !== "ALL" && routePatternRegExp(route.path).test(path))
        .map((route) => route.method),
    );
    if (allowed.size > 0) {
      c.header("Allow", [...allowed].join(", "));
      return sendError(c, new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${path}`));
    }
    return sendError(c, new ApiError(404, "not_found", `No route for ${c.req.method} ${path}`));
  };
}

/** A zod issue as clients see it: the dotted path of the offending field and why. */
export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/** The `defaultHook` of every router: a failed request validation becomes a 400 naming each field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the hook is shared by routers of every env
export const validationHook: Hook<unknown, any, any, void> = (result) => {
  if (result.success) return;
  const issues = describeIssues(result.error);
  const fields = [...new Set(issues.map((issue) => issue.path || "(body)"))].join(", ");
  throw new ApiError(400, "invalid_request", `Invalid ${result.target}: ${fields}`, { issues });
};

/** A raw body (read as text for its signature) parsed as JSON and checked against `schema`; 400 naming the problem otherwise. */
export function jsonBodyOrThrow<S extends z.ZodType>(raw: string, schema: S, what: string): z.infer<S> {
  const result = parseJsonBody(raw, schema);
  if (result.ok) return result.data;
  if (result.code === "invalid_json") throw new ApiError(400, "invalid_json", "Body is not JSON");
  throw new ApiError(400, "invalid_request", `Not ${what}`, { issues: describeIssues(result.error) });
}
