/**
 * A subject's photos: upload through the Worker (`PUT …/images/:name`, raw bytes,
 * for small clients and bots), or straight to storage with signed PUT URLs
 * (`POST …/uploads`, for browsers: the Worker never carries the bytes), then
 * `POST …/finalize`, which checks the whole set and records the manifest that
 * trainings read. A finalized subject takes no more photos, so the set a training
 * ran on is the set that was checked.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { r2Keys, toHex } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { JSON_BODY_LIMIT, limitBody } from "../body-limit.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { signObjectUrl } from "../storage/signed-urls.js";
import { findSubject } from "../subjects/lookup.js";
import { CONTENT_TYPES } from "../subjects/image-format.js";
import { checkPhotoSet, PHOTO_RULES, type PhotoSetReport } from "../subjects/photo-checks.js";
import { listPhotoObjects, photoPrefix, readPhoto } from "../subjects/read-photos.js";
import { PhotoNameSchema, PhotoSetReportSchema, type Subject, SubjectSchema } from "../subjects/schemas.js";
import { errorResponse, errorResponses, jsonContent } from "./responses.js";
import { SubjectIdParams } from "./subjects.js";

const security = [{ apiKey: [] }];

/** Declared types we accept on upload; the real format is judged by magic bytes at finalize. */
const UPLOAD_CONTENT_TYPES = [...Object.values(CONTENT_TYPES), "application/octet-stream"];

function assertDraft(subject: Subject): void {
  if (subject.status !== "draft") {
    throw new ApiError(409, "subject_finalized", `Subject ${subject.id} is finalized; create a new subject to change its photos`);
  }
}

const binary = z.string().openapi({ type: "string", format: "binary" });

const putImage = createRoute({
  method: "put",
  path: "/{id}/images/{name}",
  tags: ["subjects"],
  summary: "Upload one photo as the raw request body",
  security,
  middleware: [limitBody(PHOTO_RULES.maxBytes)] as const,
  request: {
    params: SubjectIdParams.extend({ name: PhotoNameSchema }),
    body: { content: Object.fromEntries(UPLOAD_CONTENT_TYPES.map((type) => [type, { schema: binary }])), required: true },
  },
  responses: {
    201: jsonContent(z.object({ name: z.string(), size: z.number().int(), sha256: z.string() }), "Stored"),
    ...errorResponses,
    409: errorResponse("Subject already finalized"),
    413: errorResponse("Photo over 10 MB"),
    415: errorResponse("Content-Type is not an image type"),
  },
});

const UploadsRequestSchema = z
  .object({
    files: z
      .array(z.object({ name: PhotoNameSchema, content_type: z.enum(Object.values(CONTENT_TYPES) as [string, ...string[]]) }).strict())
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
  middleware: [limitBody(JSON_BODY_LIMIT)] as const,
  request: {
    params: SubjectIdParams,
    body: { content: { "application/json": { schema: UploadsRequestSchema } }, required: true },
  },
  responses: {
    200: jsonContent(z.object({ uploads: z.array(UploadUrlSchema) }), "One signed URL per file"),
    ...errorResponses,
    409: errorResponse("Subject already finalized"),
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

/** Stores one photo of a draft subject (the caller has checked the subject is a draft). */
export async function storePhoto(env: Env, accountId: string, subjectId: string, name: string, bytes: Uint8Array, contentType: string) {
  await env.BUCKET.put(r2Keys.photo(accountId, subjectId, name), bytes, { httpMetadata: { contentType } });
  return { name, size: bytes.length, sha256: toHex(await crypto.subtle.digest("SHA-256", bytes)) };
}

/** Checks a subject's uploaded photos and, when they pass, records the manifest; else a 422 naming every problem. */
export async function finalizePhotos(env: Env, accountId: string, id: string): Promise<{ subject: Subject; report: PhotoSetReport }> {
  await findSubject(env, accountId, id);
  const objects = await listPhotoObjects(env.BUCKET, accountId, id);
  // Far too many files is answered from the listing alone, without reading any of them.
  if (objects.length > 2 * PHOTO_RULES.maxPhotos) {
    const message = `${objects.length} photos; at most ${PHOTO_RULES.maxPhotos} are used`;
    throw new ApiError(422, "photos_rejected", message, { ok: false, problems: [{ code: "too_many_photos", message }], photos: [] });
  }
  const files = [];
  for (const object of objects) files.push(await readPhoto(env.BUCKET, object, photoPrefix(accountId, id)));
  const report = checkPhotoSet(files);
  if (!report.ok) {
    const rejected = report.photos.filter((photo) => !photo.ok).length;
    const message = `Photo set rejected: ${[...report.problems.map((problem) => problem.message), `${rejected} photo(s) with problems`].join("; ")}`;
    throw new ApiError(422, "photos_rejected", message, report);
  }
  const photos = report.photos.map((photo) => ({
    name: photo.name,
    format: photo.format!,
    content_type: CONTENT_TYPES[photo.format!],
    size: photo.size,
    sha256: photo.sha256!,
    width: photo.width!,
    height: photo.height!,
    warnings: photo.warnings,
  }));
  const subject = await accountStore(env, accountId).finalizeSubject(id, photos, Date.now());
  if (!subject) throw new ApiError(404, "not_found", `No subject ${id}`);
  return { subject, report };
}

export const subjectPhotos = createRouter()
  .openapi(putImage, async (c) => {
    const { id, name } = c.req.valid("param");
    const contentType = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!UPLOAD_CONTENT_TYPES.includes(contentType)) {
      throw new ApiError(415, "unsupported_media_type", `Content-Type must be one of ${UPLOAD_CONTENT_TYPES.join(", ")}`);
    }
    assertDraft(await findSubject(c.env, c.var.accountId, id));
    return c.json(await storePhoto(c.env, c.var.accountId, id, name, new Uint8Array(await c.req.arrayBuffer()), contentType), 201);
  })
  .openapi(createUploads, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    assertDraft(await findSubject(c.env, c.var.accountId, id));
    const origin = new URL(c.req.url).origin;
    const uploads = await Promise.all(
      body.files.map(async (file) => ({
        name: file.name,
        ...(await signObjectUrl(c.env, origin, {
          method: "PUT",
          key: r2Keys.photo(c.var.accountId, id, file.name),
          expiresInS: body.expires_in_s,
          contentType: file.content_type,
        })),
        method: "PUT" as const,
      })),
    );
    return c.json({ uploads }, 200);
  })
  .openapi(finalize, async (c) => c.json(await finalizePhotos(c.env, c.var.accountId, c.req.valid("param").id), 200));
