/**
 * What a failed Replicate call means for a job. The client throws `ApiError`
 * carrying the response; we sort it into "try again later" (429 with its
 * `retry_after`, 5xx, network) and "this will never work" (401 bad token, 402
 * billing, 404, 422 invalid input), keeping Replicate's own `detail` as the reason
 * a user sees. The client already retries 429s a few times at once; what reaches
 * us has outlasted that, so the job object backs off for real.
 */
export type ReplicateFailure =
  | { retryable: true; status: number; retryAfterMs?: number; message: string }
  | { retryable: false; status: number; code: string; message: string };

const PERMANENT: Record<number, { code: string; what: string }> = {
  401: { code: "replicate_unauthorized", what: "Replicate rejected REPLICATE_API_TOKEN" },
  402: { code: "replicate_payment_required", what: "Replicate requires billing to be set up on the account" },
  403: { code: "replicate_forbidden", what: "The Replicate token may not do this" },
  404: { code: "replicate_not_found", what: "Replicate could not find the model, version or destination" },
  409: { code: "replicate_conflict", what: "Replicate refused a conflicting request" },
  422: { code: "replicate_invalid_input", what: "Replicate refused the inputs" },
};

interface ApiErrorLike {
  message: string;
  response: { status: number; headers: Headers };
}

function isApiError(error: unknown): error is ApiErrorLike {
  return (
    error instanceof Error &&
    typeof (error as Partial<ApiErrorLike>).response?.status === "number" &&
    (error as Partial<ApiErrorLike>).response?.headers instanceof Headers
  );
}

/** The JSON body the client folded into its message: `Request to … failed with status 422 …: {…}.` */
function responseBody(message: string): Record<string, unknown> {
  const start = message.indexOf(": {");
  if (start < 0) return {};
  try {
    return JSON.parse(message.slice(start + 2).replace(/\.$/, "")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** `Retry-After` seconds, else the body's `retry_after`, else the "available in N seconds" of its detail. */
export function retryAfterMs(headers: Headers, body: Record<string, unknown>): number | undefined {
  const header = Number(headers.get("retry-after"));
  if (Number.isFinite(header) && header > 0) return header * 1000;
  const field = Number(body.retry_after);
  if (Number.isFinite(field) && field > 0) return field * 1000;
  const inDetail = /available in (\d+(?:\.\d+)?) second/.exec(String(body.detail ?? ""));
  return inDetail ? Number(inDetail[1]) * 1000 : undefined;
}

export function classifyReplicateError(error: unknown): ReplicateFailure {
  if (!isApiError(error)) {
    const reason = error instanceof Error ? error.message : String(error);
    return { retryable: true, status: 0, message: `Replicate unreachable: ${reason}` };
  }
  const status = error.response.status;
  const body = responseBody(error.message);
  const detail = typeof body.detail === "string" ? body.detail : `HTTP ${status}`;
  if (status === 429 || status >= 500) {
    const wait = retryAfterMs(error.response.headers, body);
    return { retryable: true, status, retryAfterMs: wait, message: `Replicate ${status}: ${detail}` };
  }
  const known = PERMANENT[status] ?? { code: "replicate_error", what: "Replicate refused the request" };
  return { retryable: false, status, code: known.code, message: `${known.what} (${status}): ${detail}` };
}
