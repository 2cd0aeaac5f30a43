/**
 * Generations: render a trained subject in new scenes. The prompt may say
 * `{subject}`, which expands to the training's "identifier class_noun"; the seed,
 * width and height are fixed at creation (random seed, the training's resolution)
 * so the record says exactly how each image was made. Images are served to the
 * same API key at the URLs the generation lists.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { expandSubjectPlaceholder, GenerationParamsSchema, newId } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { startChargedJob, type Caller } from "../billing/charges.js";
import { BACKEND_NAMES } from "../backends/index.js";
import { checkReplicateGeneration } from "../backends/replicate/requests.js";
import { JSON_BODY_LIMIT, limitBody } from "../body-limit.js";
import { ApiError } from "../errors.js";
import { jobStore } from "../jobs/job-do.js";
import { findJob } from "../jobs/lookup.js";
import type { ChatTarget } from "../bots/chat-target.js";
import type { GenerationRecord, JobRecord, NewGenerationRecord, TrainingRecord } from "../jobs/record.js";
import { generatedImages, generationView, GenerationViewSchema } from "../jobs/views.js";
import { createRouter } from "../router.js";
import { callerOf, cancelJob, eventStreamResponse, JobIdParams, openEventStream, originOf, security } from "./job-actions.js";
import { chargeResponses, errorResponse, errorResponses, jsonContent } from "./responses.js";
import { chooseBackend } from "./trainings.js";

export const CreateGenerationSchema = GenerationParamsSchema.extend({
  training_id: z.string().min(1).max(64),
  backend: z.enum(BACKEND_NAMES).optional().openapi({ description: "Defaults to the training's backend" }),
  webhook_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
}).openapi("CreateGeneration");

/** The trained weights a generation applies: the diffusers LoRA, or the full export. */
function weightsOf(training: TrainingRecord): NewGenerationRecord["weights"] {
  // Replicate's trainer leaves its own weights bundle, which only Replicate renders with.
  const replicateTrained = training.artifacts.some((artifact) => artifact.format === "cog-sdxl-lora");
  const format = replicateTrained ? "cog-sdxl-lora" : training.params.method === "lora" ? "diffusers-lora" : "diffusers";
  const files = training.artifacts
    .filter((artifact) => artifact.format === format)
    .map((artifact) => ({
      name: artifact.name,
      key: artifact.key,
      sha256: artifact.sha256,
      size: artifact.size,
      content_type: artifact.content_type,
    }));
  if (files.length === 0) throw new ApiError(409, "training_not_ready", `Training ${training.id} has no ${format} weights`);
  return { format, method: training.params.method, files };
}

/**
 * Starts a generation from a succeeded training, reserving its price first; shared by
 * the API route and the chat bots (`notify`: where a bot wants to hear that it ended).
 */
export async function startGeneration(
  caller: Caller,
  body: z.infer<typeof CreateGenerationSchema>,
  origin: string,
  notify?: ChatTarget,
): Promise<GenerationRecord> {
  const { env, accountId } = caller;
  const { training_id, backend, webhook_url, ...request } = body;
  const training = await findJob(env, accountId, "train", training_id);
  if (training.status !== "succeeded") {
    throw new ApiError(409, "training_not_ready", `Training ${training.id} is ${training.status}, not succeeded`);
  }
  const record: NewGenerationRecord = {
    id: newId("generation"),
    kind: "generate",
    account_id: accountId,
    backend: chooseBackend(backend ?? training.backend, env),
    base_model: training.base_model,
    training_id: training.id,
    params: {
      ...request,
      prompt: expandSubjectPlaceholder(request.prompt, training.subject),
      seed: request.seed ?? crypto.getRandomValues(new Uint32Array(1))[0],
      width: request.width ?? training.params.resolution,
      height: request.height ?? training.params.resolution,
    },
    weights: weightsOf(training),
    ...(webhook_url ? { webhook_url } : {}),
    ...(notify ? { notify } : {}),
  };
  if (record.backend === "replicate") checkReplicateGeneration(env, record.params, record.weights);
  const created: JobRecord = await startChargedJob(caller, record, async (charged) => (await jobStore(env, record.id).create(charged, origin)) as JobRecord);
  await accountStore(env, accountId).recordGeneration({
    id: created.id,
    training_id: training.id,
    status: created.status,
    created_at: created.created_at,
  });
  return created as GenerationRecord;
}

const createGeneration = createRoute({
  method: "post",
  path: "/",
  tags: ["generations"],
  summary: "Generate images of a trained subject",
  security,
  middleware: [limitBody(JSON_BODY_LIMIT)] as const,
  request: { body: { content: { "application/json": { schema: CreateGenerationSchema } }, required: true } },
  responses: {
    202: jsonContent(GenerationViewSchema, "Accepted: queued for a GPU backend"),
    ...errorResponses,
    409: errorResponse("The training has not succeeded"),
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
    ...chargeResponses,
  },
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

const ImageParams = JobIdParams.extend({ index: z.coerce.number().int().min(0).max(7) });

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
  .openapi(getGeneration, async (c) => {
    const record = await findJob(c.env, c.get("accountId"), "generate", c.req.valid("param").id);
    return c.json(generationView(record, originOf(c.req.url)), 200);
  })
  .openapi(getImage, async (c) => {
    const { id, index } = c.req.valid("param");
    const record = await findJob(c.env, c.get("accountId"), "generate", id);
    const image = generatedImages(record)[index];
    const object = image && (await c.env.BUCKET.get(image.key));
    if (!object) throw new ApiError(404, "not_found", `Generation ${id} has no image ${index}`);
    return new Response(object.body, {
      headers: { "content-type": image.content_type, "content-length": String(object.size), etag: object.httpEtag },
    });
  })
  .openapi(generationEvents, async (c) => {
    const record = await findJob(c.env, c.get("accountId"), "generate", c.req.valid("param").id);
    return openEventStream(c.env, record.id, c.req.raw);
  })
  .openapi(cancelGeneration, async (c) => {
    const record = await findJob(c.env, c.get("accountId"), "generate", c.req.valid("param").id);
    return c.json(generationView(await cancelJob(c.env, record), originOf(c.req.url)), 202);
  });
