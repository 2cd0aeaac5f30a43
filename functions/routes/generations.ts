/**
 * Generations over HTTP: render a trained subject in new scenes, read the record
 * and its images, follow it live, cancel it. The use case lives in
 * `jobs/start-generation.ts`; images are served to the same API key at the URLs
 * the generation lists.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { JOB_STATUSES } from "../../shared/index.js";
import { callerOf, originOf } from "../caller.js";
import { ApiError } from "../errors.js";
import { cancelJob } from "../jobs/cancel-job.js";
import { listGenerations } from "../jobs/list-jobs.js";
import { findJob } from "../jobs/lookup.js";
import { GenerationRequestSchema, startGeneration } from "../jobs/start-generation.js";
import { generatedImages, generationView, GenerationViewSchema } from "../jobs/views.js";
import { chargeResponses, errorResponse, errorResponses, jsonContent } from "../responses.js";
import { createRouter } from "../router.js";
import { PageQuerySchema } from "../subjects/schemas.js";
import { eventStreamResponse, JobIdParams, openEventStream, security } from "./job-actions.js";

const createGeneration = createRoute({
  method: "post",
  path: "/",
  tags: ["generations"],
  summary: "Generate images of a trained subject",
  security,
  request: { body: { content: { "application/json": { schema: GenerationRequestSchema } }, required: true } },
  responses: {
    202: jsonContent(GenerationViewSchema, "Accepted: queued for a GPU backend"),
    ...errorResponses,
    409: errorResponse("The training has not succeeded"),
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
    ...chargeResponses,
  },
});

const GenerationListQuerySchema = PageQuerySchema.extend({
  subject_id: z.string().min(1).max(64).optional(),
  training_id: z.string().min(1).max(64).optional(),
  status: z.enum(JOB_STATUSES).optional(),
});

const GenerationPageSchema = z.object({ items: z.array(GenerationViewSchema), next_cursor: z.string().nullable() }).openapi("GenerationPage");

const listGenerationsRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["generations"],
  summary: "List generations, newest first (filter by subject_id, training_id, status)",
  security,
  request: { query: GenerationListQuerySchema },
  responses: { 200: jsonContent(GenerationPageSchema, "One page of generations"), ...errorResponses },
});

const getGeneration = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["generations"],
  summary: "Status and images of a generation",
  security,
  request: { params: JobIdParams },
  responses: { 200: jsonContent(GenerationViewSchema, "The generation"), ...errorResponses },
});

// A coerced number accepts a missing value as far as the OpenAPI generator can tell; a path parameter is always required.
const ImageParams = JobIdParams.extend({ index: z.coerce.number().int().min(0).max(7).openapi({ param: { required: true } }) });

const getImage = createRoute({
  method: "get",
  path: "/{id}/images/{index}",
  tags: ["generations"],
  summary: "One generated image (PNG)",
  security,
  request: { params: ImageParams },
  responses: { 200: { description: "The image", content: { "image/png": { schema: z.string() } } }, ...errorResponses },
});

const generationEvents = createRoute({
  method: "get",
  path: "/{id}/events",
  tags: ["generations"],
  summary: "Live state of a generation (Server-Sent Events)",
  security,
  request: { params: JobIdParams },
  responses: { 200: eventStreamResponse, ...errorResponses },
});

const cancelGeneration = createRoute({
  method: "post",
  path: "/{id}/cancel",
  tags: ["generations"],
  summary: "Cancel a generation",
  security,
  request: { params: JobIdParams },
  responses: {
    202: jsonContent(GenerationViewSchema, "Canceled"),
    ...errorResponses,
    409: errorResponse("The generation already ended"),
  },
});

export const generations = createRouter()
  .openapi(createGeneration, async (c) => {
    const origin = originOf(c.req.url);
    return c.json(generationView(await startGeneration(callerOf(c), c.req.valid("json"), origin), origin), 202);
  })
  .openapi(listGenerationsRoute, async (c) => {
    const page = await listGenerations(callerOf(c), c.req.valid("query"));
    const origin = originOf(c.req.url);
    return c.json({ items: page.items.map((record) => generationView(record, origin)), next_cursor: page.next_cursor }, 200);
  })
  .openapi(getGeneration, async (c) => {
    const record = await findJob(callerOf(c), "generate", c.req.valid("param").id);
    return c.json(generationView(record, originOf(c.req.url)), 200);
  })
  .openapi(getImage, async (c) => {
    const { id, index } = c.req.valid("param");
    const record = await findJob(callerOf(c), "generate", id);
    const image = generatedImages(record)[index];
    const object = image && (await c.env.BUCKET.get(image.key));
    if (!object) throw new ApiError(404, "not_found", `Generation ${id} has no image ${index}`);
    return new Response(object.body, {
      headers: { "content-type": image.content_type, "content-length": String(object.size), etag: object.httpEtag },
    });
  })
  .openapi(generationEvents, async (c) => {
    const record = await findJob(callerOf(c), "generate", c.req.valid("param").id);
    return openEventStream(c.env, record.id, c.req.raw);
  })
  .openapi(cancelGeneration, async (c) => {
    const record = await findJob(callerOf(c), "generate", c.req.valid("param").id);
    return c.json(generationView(await cancelJob(c.env, record), originOf(c.req.url)), 202);
  });
