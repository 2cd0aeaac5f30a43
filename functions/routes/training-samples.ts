/**
 * `GET /v1/trainings/:id/samples/:file`: the validation images a training renders
 * as it runs (its `samples/<file>` artifacts, each announced by a `sample` event),
 * served to the same API key as generated images are, so a client watching the
 * events can show each sample as it arrives. Added for the reference web app.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { callerOf } from "../caller.js";
import { ApiError } from "../errors.js";
import { findJob } from "../jobs/lookup.js";
import { createRouter } from "../router.js";
import { JobIdParams, security } from "./job-actions.js";
import { errorResponses } from "../responses.js";

const SampleParams = JobIdParams.extend({
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/).openapi({ example: "step-1000-0.png" }),
});

const getSample = createRoute({
  method: "get",
  path: "/{id}/samples/{file}",
  tags: ["trainings"],
  summary: "One validation sample image of a training (the file of a `samples/<file>` artifact)",
  security,
  request: { params: SampleParams },
  responses: { 200: { description: "The image", content: { "image/png": { schema: z.string() } } }, ...errorResponses },
});

export const trainingSamples = createRouter().openapi(getSample, async (c) => {
  const { id, file } = c.req.valid("param");
  const training = await findJob(callerOf(c), "train", id);
  const artifact = training.artifacts.find((candidate) => candidate.format === "image" && candidate.name === `samples/${file}`);
  const object = artifact && (await c.env.BUCKET.get(artifact.key));
  if (!artifact || !object) throw new ApiError(404, "not_found", `Training ${id} has no sample ${file}`);
  return new Response(object.body, {
    headers: { "content-type": artifact.content_type, "content-length": String(object.size), etag: object.httpEtag },
  });
});
