/**
 * `GET|PUT /files/<key>`: the Worker-signed storage URLs of local dev
 * (`SIGNED_URL_MODE = "worker"`), streaming straight between the client and the R2
 * binding. The URL's signature is the whole authorization, exactly as with an S3
 * presigned URL, so no API key is involved. In `r2-presigned` mode the route does
 * not exist (404): production bytes go to R2 directly.
 *
 * A PUT carries at most the bytes its URL was signed for (`max`), declared up front
 * in Content-Length; a PUT of a subject's photo is refused once the subject is
 * finalized, whenever its URL was issued.
 */
import { z } from "@hono/zod-openapi";
import { photoKeyParts } from "../../shared/index.js";
import { bodyTooLarge } from "../body-limit.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { requireSecret } from "../secrets.js";
import { verifyWorkerSignedUrl } from "../storage/signed-urls.js";
import { admitSignedPhotoWrite } from "../subjects/photos.js";

function decodeKeyPath(path: string): string {
  try {
    return path.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw new ApiError(400, "bad_request", "Malformed object key");
  }
}

export const files = createRouter();

// Documented by hand: a key spans several path segments, which createRoute's `{param}` cannot express.
for (const method of ["get", "put"] as const) {
  files.openAPIRegistry.registerPath({
    method,
    path: "/{key}",
    tags: ["storage"],
    summary: method === "get" ? "Download from a Worker-signed URL (local dev)" : "Upload to a Worker-signed URL (local dev)",
    description:
      "The query (`expires`, `sig`, and for a PUT `max`) authorizes exactly one method, object key, Content-Type and size until it expires.",
    request: {
      params: z.object({ key: z.string().openapi({ description: "The object key; its `/`s are part of the path" }) }),
      query: z.object({
        expires: z.string().openapi({ description: "Unix seconds" }),
        sig: z.string(),
        ...(method === "put" ? { max: z.string().openapi({ description: "The most bytes the PUT may carry" }) } : {}),
      }),
    },
    responses: {
      200: { description: method === "get" ? "The object" : "Stored" },
      403: { description: "Bad or expired signature" },
      ...(method === "put"
        ? { 409: { description: "The photo's subject is finalized or full" }, 411: { description: "No Content-Length" }, 413: { description: "Larger than the URL allows" } }
        : {}),
    },
  });
}

files.on(["GET", "PUT"], "/:key{.+}", async (c) => {
  if (c.env.SIGNED_URL_MODE !== "worker") throw new ApiError(404, "not_found", "Worker-signed file URLs are disabled");
  const key = decodeKeyPath(new URL(c.req.url).pathname.replace(/^\/files\//, ""));
  const method = c.req.method;
  const contentType = method === "PUT" ? (c.req.header("content-type") ?? "") : "";
  const check = await verifyWorkerSignedUrl(requireSecret(c.env, "FILE_URL_SECRET"), {
    method,
    key,
    expires: c.req.query("expires"),
    sig: c.req.query("sig"),
    contentType,
    max: c.req.query("max"),
  });
  if (!check.ok) throw new ApiError(403, "invalid_signature", `Signed URL rejected: ${check.reason}`);

  if (method === "GET") {
    const object = await c.env.BUCKET.get(key);
    if (!object) throw new ApiError(404, "not_found", "No such object");
    const headers = new Headers({ etag: object.httpEtag, "content-length": String(object.size) });
    object.writeHttpMetadata(headers);
    return new Response(object.body, { headers });
  }
  // R2 needs the length up front to accept a stream; a chunked upload would fail deep inside put().
  const length = c.req.header("content-length");
  if (!length || c.req.header("transfer-encoding")) throw new ApiError(411, "length_required", "PUT needs a Content-Length");
  if (Number(length) > check.maxBytes!) throw bodyTooLarge(check.maxBytes!);
  const photo = photoKeyParts(key);
  if (photo) await admitSignedPhotoWrite(c.env, photo.accountId, photo.subjectId, photo.name);
  const stored = await c.env.BUCKET.put(key, c.req.raw.body, { httpMetadata: contentType ? { contentType } : undefined });
  return c.json({ key, size: stored.size, etag: stored.etag }, 200);
});
