/**
 * Our own GPU service (`gpu-backend/`), reached by signed push: the job message is
 * POSTed to `${GPU_BACKEND_URL}/jobs` with the HMAC headers of shared/signing.ts, and
 * the service reports back by POSTing signed events to the message's `callback_url`.
 * 202 means accepted; 503 (or 429) means every GPU is taken, so the job object
 * retries later; any other 4xx is a permanent refusal of this message. A refused
 * connection, a timeout or another 5xx means the host is unreachable, which has its
 * own retry budget: a host that accepts connections and never answers must not hold
 * the job's object, so every request is cut off after `requestTimeoutMs`.
 */
import { signedHeaders, type JobMessage } from "../../shared/index.js";
import type { DispatchResult, GpuBackend } from "./types.js";

export interface ContainerConfig {
  baseUrl: string | undefined;
  signingSecret: string | undefined;
  /** Longest a dispatch or cancel may take before the host counts as unreachable. */
  requestTimeoutMs: number;
}

const BUSY_STATUSES = new Set([429, 503]);

/** Retry-After in seconds (the only form a GPU service sends), as milliseconds. */
function retryAfterMs(response: Response): number | undefined {
  const seconds = Number(response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

export function containerBackend(config: ContainerConfig): GpuBackend {
  async function signedPost(path: string, body: string): Promise<Response> {
    const headers = await signedHeaders(config.signingSecret!, body);
    return fetch(`${config.baseUrl!.replace(/\/+$/, "")}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.timeout(config.requestTimeoutMs),
    });
  }

  return {
    name: "container",
    async dispatch(message: JobMessage): Promise<DispatchResult> {
      const missing = !config.baseUrl ? "GPU_BACKEND_URL" : !config.signingSecret ? "BACKEND_SIGNING_SECRET" : null;
      if (missing) return { outcome: "rejected", code: "backend_not_configured", message: `${missing} is not set` };
      let response: Response;
      let text: string;
      try {
        response = await signedPost("/jobs", JSON.stringify(message));
        text = await response.text();
      } catch (error) {
        return { outcome: "unreachable", reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      }
      if (response.ok) return { outcome: "accepted" };
      if (BUSY_STATUSES.has(response.status)) return { outcome: "busy", retryAfterMs: retryAfterMs(response) };
      if (response.status >= 500) return { outcome: "unreachable", reason: `HTTP ${response.status}` };
      return {
        outcome: "rejected",
        code: "backend_rejected",
        message: `GPU backend answered ${response.status}: ${text.slice(0, 300)}`,
      };
    },
    async cancel(job) {
      if (!config.baseUrl || !config.signingSecret) return;
      const body = JSON.stringify({ job_id: job.job_id, attempt: job.attempt });
      await signedPost(`/jobs/${encodeURIComponent(job.job_id)}/cancel`, body)
        .then((response) => response.body?.cancel())
        .catch(() => undefined);
    },
  };
}
