/**
 * The backend's HTTP surface as a route table: jobs (signed, from the Worker)
 * and an unauthenticated health probe for the container's HEALTHCHECK and load
 * balancers. Every error leaves through the one envelope in `errors.ts`.
 */
import { Hono } from "hono";
import { errorEnvelope, renderError } from "./errors.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { jobsRoutes } from "./jobs-routes.js";

export interface HealthFacts {
  backend: string;
  device: string;
  /** Base models loaded in memory. */
  modelsLoaded(): string[];
}

export function createApp(options: { runner: JobRunner; secret: string; health: HealthFacts }) {
  const { runner, secret, health } = options;
  const app = new Hono();
  app.get("/healthz", (c) => {
    const job = runner.currentJob;
    return c.json({
      status: "ok",
      backend: health.backend,
      device: health.device,
      models_loaded: health.modelsLoaded(),
      model_loaded: health.modelsLoaded().length > 0,
      queue_depth: runner.queueDepth,
      current_job: job ? { job_id: job.job_id, attempt: job.attempt, kind: job.kind } : null,
    });
  });
  app.route("/jobs", jobsRoutes(runner, secret));
  app.notFound((c) => c.json(errorEnvelope("not_found", `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError(renderError);
  return app;
}
