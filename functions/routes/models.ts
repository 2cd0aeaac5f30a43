/**
 * `GET /v1/models/:training_id/files/:format` downloads a trained model, streamed
 * from R2 without buffering: the diffusers LoRA, the kohya LoRA (for A1111 and
 * ComfyUI) or the full diffusers export. A format made of several files (the full
 * export) serves the one named by `?file=`, or its first file. Only a succeeded
 * training serves weights: files of a failed or canceled one are what an attempt
 * left behind, not a trained model (410 with the reason); its checkpoints stay.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { callerOf } from "../caller.js";
import { ApiError } from "../errors.js";
import { findJob } from "../jobs/lookup.js";
import { WEIGHT_FORMATS } from "../jobs/views.js";
import { createRouter } from "../router.js";
import { security } from "./job-actions.js";
import { errorResponse, errorResponses } from "../responses.js";

const ModelFileParams = z.object({
  training_id: z.string().min(1).max(64),
  format: z.enum(WEIGHT_FORMATS),
});

const getModelFile = createRoute({
  method: "get",
  path: "/{training_id}/files/{format}",
  tags: ["models"],
  summary: "Download trained weights",
  security,
  request: { params: ModelFileParams, query: z.object({ file: z.string().max(200).optional() }) },
  responses: {
    200: { description: "The weights file", content: { "application/octet-stream": { schema: z.string() } } },
    ...errorResponses,
    409: errorResponse("The training has not finished yet"),
    410: errorResponse("The training failed or was canceled: it has no trained weights (the message says why)"),
  },
});

export const models = createRouter().openapi(getModelFile, async (c) => {
  const { training_id, format } = c.req.valid("param");
  const { file } = c.req.valid("query");
  const training = await findJob(callerOf(c), "train", training_id);
  if (training.status === "failed" || training.status === "canceled") {
    const reason = training.error ? `: ${training.error.message}` : "";
    throw new ApiError(410, `training_${training.status}`, `Training ${training_id} ${training.status}${reason}; it has no trained weights`);
  }
  if (training.status !== "succeeded") throw new ApiError(409, "training_not_ready", `Training ${training_id} is ${training.status}, not succeeded`);
  const artifact = training.artifacts.find((candidate) => candidate.format === format && (!file || candidate.name === file));
  const object = artifact && (await c.env.BUCKET.get(artifact.key));
  if (!artifact || !object) throw new ApiError(404, "not_found", `Training ${training_id} has no ${format} weights`);
  const filename = `${training.id}-${artifact.name.split("/").at(-1)}`;
  return new Response(object.body, {
    headers: {
      "content-type": artifact.content_type,
      "content-length": String(object.size),
      "content-disposition": `attachment; filename="${filename}"`,
      etag: object.httpEtag,
      "x-content-sha256": artifact.sha256,
    },
  });
});
