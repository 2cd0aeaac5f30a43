/**
 * A subject's photos over HTTP: upload through the Worker (`PUT …/images/:name`,
 * raw bytes, for small clients and bots), or straight to storage with signed PUT
 * URLs (`POST …/uploads`, for browsers: the Worker never carries the bytes), then
 * `POST …/finalize`; a draft's photo is removed with `DELETE …/images/:name`. The
 * use cases are in `subjects/photos.ts`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { callerOf, originOf } from "../caller.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { CONTENT_TYPES } from "../subjects/image-format.js";
import { PHOTO_RULES } from "../subjects/photo-checks.js";
import { deletePhoto, finalizePhotos, photoUploadUrls, storePhoto } from "../subjects/photos.js";
import { readPhotoStream } from "../subjects/photo-stream.js";
import { PhotoNameSchema, PhotoSetReportSchema, SubjectSchema } from "../subjects/schemas.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";
import { SubjectIdParams } from "./subjects.js";

const security = [{ apiKey: [] }];

/** Declared types we accept on upload; the real format is judged by the first bytes as they arrive. */
const UPLOAD_CONTENT_TYPES = [...Object.values(CONTENT_TYPES), "application/octet-stream"];

const binary = z.string().openapi({ type: "string", format: "binary" });

const putImage = createRoute({
  method: "put",
  path: "/{id}/images/{name}",
  tags: ["subjects"],
  summary: "Upload one photo as the raw request body",
  security,
  request: {
    params: SubjectIdParams.extend({ name: PhotoNameSchema }),
    body: { content: Object.fromEntries(UPLOAD_CONTENT_TYPES.map((type) => [type, { schema: binary }])), required: true },
  },
  responses: {
    201: jsonContent(z.object({ name: z.string(), size: z.number().int(), sha256: z.string() }), "Stored"),
    ...errorResponses,
    409: errorResponse("Subject already finalized, or it already holds the most photos a subject may"),
    413: errorResponse("Photo over 10 MB"),
    415: errorResponse("Content-Type is not an image type, or the bytes are not a JPEG, PNG or WebP (details.seen names what they look like)"),
  },
});

const deleteImage = createRoute({
  method: "delete",
  path: "/{id}/images/{name}",
  tags: ["subjects"],
  summary: "Remove one photo from a draft subject",
  security,
  request: { params: SubjectIdParams.extend({ name: PhotoNameSchema }) },
  responses: {
    200: jsonContent(z.object({ name: z.string(), deleted: z.literal(true) }), "Removed"),
    ...errorResponses,
    409: errorResponse("Subject already finalized"),
  },
});

const UploadsRequestSchema = z
  .object({
    files: z
      .array(
        z
          .object({
            name: PhotoNameSchema,
            content_type: z.enum(Object.values(CONTENT_TYPES) as [string, ...string[]]),
            size: z
              .number()
              .int()
              .positive()
              .max(PHOTO_RULES.maxBytes)
              .optional()
              .openapi({ description: "Exact byte length; the URL is signed for it. Required where URLs go straight to R2 (production)." }),
          })
          .strict(),
      )
      .min(1)
      .max(PHOTO_RULES.maxPhotos),
    expires_in_s: z.number().int().min(60).max(3600).default(900),
  })
  .strict()
  .openapi("UploadsRequest");

const UploadUrlSchema = z
  .object({
    name: z.string(),
    url: z.url(),
    method: z.literal("PUT"),
    headers: z.record(z.string(), z.string()),
    expires_at: z.number().int(),
  })
  .openapi("UploadUrl");

const createUploads = createRoute({
  method: "post",
  path: "/{id}/uploads",
  tags: ["subjects"],
  summary: "Get signed PUT URLs to upload photos straight to storage",
  security,
  request: {
    params: SubjectIdParams,
    body: { content: { "application/json": { schema: UploadsRequestSchema } }, required: true },
  },
  responses: {
    200: jsonContent(z.object({ uploads: z.array(UploadUrlSchema) }), "One signed URL per file"),
    ...errorResponses,
    409: errorResponse("Subject already finalized, or the files would exceed the most photos a subject may hold"),
    503: errorResponse("Storage signing credentials not configured"),
  },
});

const finalize = createRoute({
  method: "post",
  path: "/{id}/finalize",
  tags: ["subjects"],
  summary: "Check the uploaded photo set and make the subject ready for training",
  security,
  request: { params: SubjectIdParams },
  responses: {
    200: jsonContent(z.object({ subject: SubjectSchema, report: PhotoSetReportSchema }), "Accepted, with a per-photo report"),
    ...errorResponses,
    422: errorResponse("Rejected; details is the per-photo report naming every problem"),
  },
});

export const subjectPhotos = createRouter()
  .openapi(putImage, async (c) => {
    const { id, name } = c.req.valid("param");
    const contentType = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!UPLOAD_CONTENT_TYPES.includes(contentType)) {
      throw new ApiError(415, "unsupported_media_type", `Content-Type must be one of ${UPLOAD_CONTENT_TYPES.join(", ")}`);
    }
    const { bytes, format } = await readPhotoStream(c.req.raw.body ?? new Blob().stream());
    return c.json(await storePhoto(callerOf(c), id, name, bytes, format), 201);
  })
  .openapi(deleteImage, async (c) => {
    const { id, name } = c.req.valid("param");
    return c.json(await deletePhoto(callerOf(c), id, name), 200);
  })
  .openapi(createUploads, async (c) => {
    const { id } = c.req.valid("param");
    const { files, expires_in_s } = c.req.valid("json");
    return c.json({ uploads: await photoUploadUrls(callerOf(c), id, files, expires_in_s, originOf(c.req.url)) }, 200);
  })
  .openapi(finalize, async (c) => c.json(await finalizePhotos(callerOf(c), c.req.valid("param").id), 200));
