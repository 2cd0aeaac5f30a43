/**
 * `GET /v1/subjects/:id/images/:name`: one finalized photo of a subject, to the
 * same API key that uploaded it, so a client can show the training photos beside
 * what the trained model renders (the reference app's results screen does).
 * Only photos in the finalized manifest are served: the set a training ran on.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { r2Keys } from "../../shared/index.js";
import { callerOf } from "../caller.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { findSubject } from "../subjects/lookup.js";
import { PhotoNameSchema } from "../subjects/schemas.js";
import { errorResponses } from "../responses.js";
import { security } from "./job-actions.js";
import { SubjectIdParams } from "./subjects.js";

const getPhoto = createRoute({
  method: "get",
  path: "/{id}/images/{name}",
  tags: ["subjects"],
  summary: "One finalized photo of a subject",
  security,
  request: { params: SubjectIdParams.extend({ name: PhotoNameSchema }) },
  responses: { 200: { description: "The photo", content: { "image/*": { schema: z.string() } } }, ...errorResponses },
});

export const subjectPhotoFile = createRouter().openapi(getPhoto, async (c) => {
  const { id, name } = c.req.valid("param");
  const caller = callerOf(c);
  const accountId = caller.accountId;
  const photo = (await findSubject(caller, id)).photos.find((candidate) => candidate.name === name);
  const object = photo && (await c.env.BUCKET.get(r2Keys.photo(accountId, id, name)));
  if (!photo || !object) throw new ApiError(404, "not_found", `Subject ${id} has no finalized photo ${name}`);
  return new Response(object.body, {
    headers: { "content-type": photo.content_type, "content-length": String(object.size), etag: object.httpEtag },
  });
});
