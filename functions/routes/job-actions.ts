/**
 * What trainings and generations share beyond their schemas: the live event
 * stream, cancel, and the OpenAPI pieces describing them. Both kinds are the same
 * `JobDO`, so these are written once.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Caller } from "../billing/charges.js";
import { ApiError } from "../errors.js";
import { jobStore } from "../jobs/job-do.js";
import type { JobRecord } from "../jobs/record.js";
import type { AppEnv } from "../types.js";

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

/** Cancels a live job and returns its record as canceled; a job that already ended is a 409. */
export async function cancelJob<R extends JobRecord>(env: Env, record: R): Promise<R> {
  const outcome = await jobStore(env, record.id).cancel();
  if (outcome.kind === "already_terminal") {
    throw new ApiError(409, "job_finished", `${record.id} already ended as ${outcome.record.status}`);
  }
  return outcome.record as R;
}

/** The account and key mode an API request acts for. */
export function callerOf(c: Context<AppEnv>): Caller {
  return { env: c.env, accountId: c.get("accountId"), keyMode: c.get("keyMode") };
}

export function originOf(url: string): string {
  return new URL(url).origin;
}
