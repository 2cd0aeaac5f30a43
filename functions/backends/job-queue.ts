/**
 * Queue dispatch, the scale-out path of our GPU service (`DISPATCH_MODE = "queue"`):
 * the job message goes to a Cloudflare Queue and any number of GPU hosts pull it
 * with the Queues HTTP pull API (gpu-backend/src/server/queue-pull.ts). The Worker
 * does not know which host will run an attempt, so a host claims it at the job's
 * object before it starts (`/internal/jobs/:id/events/claim`), and a cancel reaches
 * that host as the 409 its next event gets.
 *
 * The message is sent as `text` (JSON), which pull consumers read as is (`json`
 * would arrive base64-encoded). It goes through the `JOB_QUEUE` producer binding,
 * or — where the queue is reached over HTTP, as in local runs against a stand-in of
 * the Queues REST API — through `POST …/queues/{queue_id}/messages`.
 */
import type { JobMessage } from "../../shared/index.js";
import type { GpuBackend } from "./types.js";

export interface QueueRestApi {
  base: string;
  accountId: string;
  queueId: string;
  token: string;
}

export interface JobQueueConfig {
  binding?: Queue;
  api?: QueueRestApi;
  requestTimeoutMs: number;
}

async function sendOverHttp(api: QueueRestApi, text: string, timeoutMs: number): Promise<void> {
  const url = `${api.base.replace(/\/+$/, "")}/accounts/${api.accountId}/queues/${api.queueId}/messages`;
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json" },
    body: JSON.stringify({ body: text, content_type: "text" }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const answer = await response.json<{ success?: boolean; errors?: { message: string }[] }>().catch(() => null);
  if (!response.ok || !answer?.success) {
    throw new Error(`queue send answered ${response.status}: ${answer?.errors?.map((error) => error.message).join("; ") ?? "no JSON"}`);
  }
}

export function queueBackend(config: JobQueueConfig): GpuBackend {
  return {
    name: "container",
    async dispatch(message: JobMessage) {
      const text = JSON.stringify(message);
      try {
        if (config.api) await sendOverHttp(config.api, text, config.requestTimeoutMs);
        else if (config.binding) await config.binding.send(text, { contentType: "text" });
        else return { outcome: "rejected", code: "backend_not_configured", message: "DISPATCH_MODE is queue but JOB_QUEUE is not bound" };
      } catch (error) {
        return { outcome: "unreachable", reason: error instanceof Error ? error.message : String(error) };
      }
      return { outcome: "accepted", queued: true };
    },
    // No host address to call: the claimed host is stopped by the 409 its next event gets.
    async cancel() {},
  };
}
