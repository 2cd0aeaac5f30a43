/**
 * `POST /jobs` and `POST /jobs/:id/cancel`: the push half of the Worker ⇄ backend
 * protocol. Accepting is cheap and immediate (202); the work runs in the
 * background and reports by events. A busy backend answers 503 with
 * `Retry-After` so the Worker's alarm tries again; a repeated delivery of the
 * job already running is acknowledged again, not run twice.
 */
import { Hono } from "hono";
import { CancelJobSchema, JobMessageSchema } from "../../../shared/job.js";
import { HttpError } from "./errors.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { readSignedJson } from "./signed-json.js";

export function jobsRoutes(runner: JobRunner, secret: string) {
  const app = new Hono();

  app.post("/", async (c) => {
    const job = await readSignedJson(c, secret, JobMessageSchema);
    if (job.deadline < Date.now()) {
      throw new HttpError(400, "deadline_exceeded", `job ${job.job_id} arrived after its deadline`);
    }
    const result = runner.submit(job);
    if (result === "busy" || result === "shutting_down") {
      c.header("Retry-After", "10");
      const message = result === "busy" ? "the backend is running another job" : "the backend is shutting down";
      throw new HttpError(503, result === "busy" ? "backend_busy" : "backend_shutting_down", message);
    }
    return c.json({ job_id: job.job_id, attempt: job.attempt, status: result }, 202);
  });

  app.post("/:id/cancel", async (c) => {
    const cancel = await readSignedJson(c, secret, CancelJobSchema);
    if (cancel.job_id !== c.req.param("id")) {
      throw new HttpError(400, "invalid_request", "job id in the path and the body differ");
    }
    if (!runner.cancel(cancel.job_id, cancel.attempt)) {
      throw new HttpError(404, "job_not_running", `job ${cancel.job_id} attempt ${cancel.attempt} is not running here`);
    }
    return c.json({ job_id: cancel.job_id, attempt: cancel.attempt, status: "canceling" }, 202);
  });

  return app;
}
