/**
 * Trainings over HTTP: start one from a finalized subject, read its status and
 * artifacts, follow it live, cancel it. The use cases live in `jobs/`; this file
 * is their schemas and handlers.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { JOB_STATUSES } from "../../shared/index.js";
import { callerOf, originOf } from "../caller.js";
import { cancelJob } from "../jobs/cancel-job.js";
import { listTrainings } from "../jobs/list-jobs.js";
import { findJob } from "../jobs/lookup.js";
import { readQualityReport } from "../jobs/quality.js";
import { startTraining, TrainingRequestSchema } from "../jobs/start-training.js";
import { trainingView, TrainingViewSchema } from "../jobs/views.js";
import { chargeResponses, errorResponse, errorResponses, jsonContent } from "../responses.js";
import { createRouter } from "../router.js";
import { PageQuerySchema } from "../subjects/schemas.js";
import { eventStreamResponse, JobIdParams, openEventStream, security } from "./job-actions.js";

const createTraining = createRoute({
  method: "post",
  path: "/",
  tags: ["trainings"],
  summary: "Start a DreamBooth training of a finalized subject",
  security,
  request: { body: { content: { "application/json": { schema: TrainingRequestSchema } }, required: true } },
  responses: {
    202: jsonContent(TrainingViewSchema, "Accepted: queued for a GPU backend"),
    ...errorResponses,
    ...chargeResponses,
    409: errorResponse("The subject is not finalized"),
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
  },
});

export const TrainingListQuerySchema = PageQuerySchema.extend({
  subject_id: z.string().min(1).max(64).optional(),
  status: z.enum(JOB_STATUSES).optional(),
});

const TrainingPageSchema = z.object({ items: z.array(TrainingViewSchema), next_cursor: z.string().nullable() }).openapi("TrainingPage");

const listTrainingsRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["trainings"],
  summary: "List trainings, newest first (filter by subject_id, status)",
  security,
  request: { query: TrainingListQuerySchema },
  responses: { 200: jsonContent(TrainingPageSchema, "One page of trainings"), ...errorResponses },
});

const getTraining = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["trainings"],
  summary: "Status, progress and artifacts of a training",
  security,
  request: { params: JobIdParams },
  responses: { 200: jsonContent(TrainingViewSchema, "The training"), ...errorResponses },
});

const trainingEvents = createRoute({
  method: "get",
  path: "/{id}/events",
  tags: ["trainings"],
  summary: "Live state and progress of a training (Server-Sent Events)",
  security,
  request: { params: JobIdParams },
  responses: { 200: eventStreamResponse, ...errorResponses },
});

const cancelTraining = createRoute({
  method: "post",
  path: "/{id}/cancel",
  tags: ["trainings"],
  summary: "Cancel a training",
  security,
  request: { params: JobIdParams },
  responses: {
    202: jsonContent(TrainingViewSchema, "Canceled"),
    ...errorResponses,
    409: errorResponse("The training already ended"),
  },
});

export const trainings = createRouter()
  .openapi(createTraining, async (c) => {
    const origin = originOf(c.req.url);
    return c.json(trainingView(await startTraining(callerOf(c), c.req.valid("json"), origin), origin), 202);
  })
  .openapi(listTrainingsRoute, async (c) => {
    const page = await listTrainings(callerOf(c), c.req.valid("query"));
    const origin = originOf(c.req.url);
    return c.json({ items: page.items.map((record) => trainingView(record, origin)), next_cursor: page.next_cursor }, 200);
  })
  .openapi(getTraining, async (c) => {
    const record = await findJob(callerOf(c), "train", c.req.valid("param").id);
    return c.json(trainingView(record, originOf(c.req.url), await readQualityReport(c.env.BUCKET, record)), 200);
  })
  .openapi(trainingEvents, async (c) => {
    const record = await findJob(callerOf(c), "train", c.req.valid("param").id);
    return openEventStream(c.env, record.id, c.req.raw);
  })
  .openapi(cancelTraining, async (c) => {
    const record = await findJob(callerOf(c), "train", c.req.valid("param").id);
    return c.json(trainingView(await cancelJob(c.env, record), originOf(c.req.url)), 202);
  });
