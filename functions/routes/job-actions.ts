/**
 * What the training and generation routes share beyond their schemas: the live
 * event stream and the OpenAPI pieces describing it. Both kinds are the same
 * `JobDO`, so these are written once.
 */
import { z } from "@hono/zod-openapi";
import { jobStore } from "../jobs/job-do.js";

export const JobIdParams = z.object({ id: z.string().min(1).max(64).openapi({ example: "trn_0123456789abcdefghjk" }) });

export const security = [{ apiKey: [] }];

export const eventStreamResponse = {
  description:
    "Server-Sent Events: first `state` with the current job, then one event per change (`progress`, `artifact`, `succeeded`, …), each with `{job, detail}`; the stream ends when the job does. With `Upgrade: websocket` the same events arrive as JSON messages `{event, data, id?}` on a WebSocket.",
  content: { "text/event-stream": { schema: z.string() } },
};

/** Hands the watcher's request (SSE, or a WebSocket upgrade) to the job's object. */
export function openEventStream(env: Env, jobId: string, request: Request): Promise<Response> {
  return jobStore(env, jobId).fetch(`https://job.internal/${jobId}/events`, { headers: request.headers });
}
