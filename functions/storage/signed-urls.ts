/**
 * Short-lived signed URLs for single R2 objects, so browsers and the GPU backend
 * move bytes without ever holding storage credentials.
 *
 * Two modes, chosen by `SIGNED_URL_MODE`:
 * - `r2-presigned` (production): S3 SigV4 query-presigned URLs on R2's S3 endpoint.
 *   The bytes never pass through the Worker.
 * - `worker` (local dev, where no S3 endpoint exists): URLs on the Worker's own
 *   origin, `/files/<key>?expires=…&sig=…`, served by `routes/files.ts` straight
 *   from/to the R2 binding. The HMAC covers method, key, expiry, content type and,
 *   for a PUT, the most bytes it may carry, so a URL cannot be reused for another
 *   object, verb, type or a larger body, nor after it expires.
 *
 * Every PUT URL is bound to a size: the exact `size` when the uploader declares one
 * (R2 signs it as `Content-Length`), else at most `maxBytes`, which only a
 * Worker-signed URL can enforce — so an R2 presigned PUT needs the exact size.
 */
import { AwsV4Signer } from "aws4fetch";
import { timingSafeEqual, toHex } from "../../shared/index.js";
import { ApiError } from "../errors.js";
import { requireSecret, type Secrets } from "../secrets.js";

export type SignedMethod = "GET" | "PUT";

export interface ObjectUrlRequest {
  method: SignedMethod;
  key: string;
  expiresInS: number;
  /** For PUT: the Content-Type the upload must carry (it is part of the signature). */
  contentType?: string;
  /** For PUT: the exact byte length the upload will have, when the uploader knows it. */
  size?: number;
  /** For PUT: the most bytes the upload may carry. */
  maxBytes?: number;
}

export interface SignedObjectUrl {
  url: string;
  method: SignedMethod;
  /** Headers the request must send for the signature to hold. */
  headers: Record<string, string>;
  /** Unix ms. */
  expires_at: number;
}

type SigningEnv = Pick<Env, "SIGNED_URL_MODE" | "R2_BUCKET_NAME"> & Secrets;

/** S3 caps presigned URLs at 7 days; ours are meant to live minutes to hours. */
export const MAX_URL_LIFETIME_S = 7 * 24 * 3600;

export async function signObjectUrl(
  env: SigningEnv,
  origin: string,
  request: ObjectUrlRequest,
  nowMs: number = Date.now(),
): Promise<SignedObjectUrl> {
  const expiresInS = Math.min(Math.max(1, Math.floor(request.expiresInS)), MAX_URL_LIFETIME_S);
  const headers: Record<string, string> = {
    ...(request.contentType ? { "content-type": request.contentType } : {}),
    ...(request.size !== undefined ? { "content-length": String(request.size) } : {}),
  };
  let url: string;
  if (env.SIGNED_URL_MODE === "worker") {
    url = await workerSignedUrl(requireSecret(env, "FILE_URL_SECRET"), origin, request, nowMs, expiresInS);
  } else if (env.SIGNED_URL_MODE === "r2-presigned") {
    url = await presignedR2Url(env, request, nowMs, expiresInS);
  } else {
    throw new ApiError(503, "misconfigured", `SIGNED_URL_MODE must be "r2-presigned" or "worker", not "${env.SIGNED_URL_MODE}"`);
  }
  return { url, method: request.method, headers, expires_at: nowMs + expiresInS * 1000 };
}

/** Keys are paths; each segment is encoded so any safe name survives the URL round trip. */
export function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

async function presignedR2Url(env: SigningEnv, request: ObjectUrlRequest, nowMs: number, expiresInS: number) {
  if (request.method === "PUT" && request.size === undefined) {
    throw new ApiError(400, "size_required", "Uploads straight to storage need each file's exact size (the URL signs its Content-Length)");
  }
  const accountId = requireSecret(env, "R2_ACCOUNT_ID");
  // Path-style addressing keeps bucket names with dots valid under R2's TLS certificate.
  const url = new URL(`https://${accountId}.r2.cloudflarestorage.com/${env.R2_BUCKET_NAME}/${encodeKeyPath(request.key)}`);
  url.searchParams.set("X-Amz-Expires", String(expiresInS));
  const signer = new AwsV4Signer({
    method: request.method,
    url: url.toString(),
    headers: {
      ...(request.contentType ? { "content-type": request.contentType } : {}),
      ...(request.size !== undefined ? { "content-length": String(request.size) } : {}),
    },
    accessKeyId: requireSecret(env, "R2_ACCESS_KEY_ID"),
    secretAccessKey: requireSecret(env, "R2_SECRET_ACCESS_KEY"),
    service: "s3",
    region: "auto",
    signQuery: true,
    // aws4fetch leaves content-type and content-length unsigned by default; signing them pins the upload's type and size.
    allHeaders: true,
    datetime: new Date(nowMs).toISOString().replace(/[:-]|\.\d{3}/g, ""),
  });
  return (await signer.sign()).url.toString();
}

/** The string the Worker-mode HMAC covers; the prefix keeps it apart from any other use of a key. */
function fileUrlPayload(method: string, key: string, expiresAtS: number, contentType: string, maxBytes: string): string {
  return ["dbe-file-url-v2", method, key, String(expiresAtS), contentType, maxBytes].join("\n");
}

/** The byte cap a Worker-signed PUT URL carries (`max`); GET URLs carry none. */
function putLimit(request: ObjectUrlRequest): string {
  if (request.method !== "PUT") return "";
  const limit = request.size ?? request.maxBytes;
  if (limit === undefined) throw new Error(`a PUT URL for ${request.key} needs a size or a maxBytes`);
  return String(limit);
}

async function hmacHex(secret: string, payload: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(payload)));
}

async function workerSignedUrl(secret: string, origin: string, request: ObjectUrlRequest, nowMs: number, expiresInS: number) {
  const expiresAtS = Math.floor(nowMs / 1000) + expiresInS;
  const maxBytes = putLimit(request);
  const signature = await hmacHex(secret, fileUrlPayload(request.method, request.key, expiresAtS, request.contentType ?? "", maxBytes));
  const url = new URL(`/files/${encodeKeyPath(request.key)}`, origin);
  url.searchParams.set("expires", String(expiresAtS));
  if (maxBytes) url.searchParams.set("max", maxBytes);
  url.searchParams.set("sig", signature);
  return url.toString();
}

/** A valid URL says how many bytes its PUT may carry (`maxBytes`, null for a GET). */
export type FileUrlCheck = { ok: true; maxBytes: number | null } | { ok: false; reason: "malformed" | "expired" | "mismatch" };

/** Verifies a Worker-signed URL for the request actually made (its method and Content-Type). */
export async function verifyWorkerSignedUrl(
  secret: string,
  request: { method: string; key: string; expires: string | undefined; sig: string | undefined; contentType: string; max?: string },
  nowMs: number = Date.now(),
): Promise<FileUrlCheck> {
  if (!request.expires || !/^\d{1,12}$/.test(request.expires) || !request.sig || !/^[0-9a-f]{64}$/.test(request.sig)) {
    return { ok: false, reason: "malformed" };
  }
  const max = request.max ?? "";
  if (request.method === "PUT" ? !/^\d{1,12}$/.test(max) : max !== "") return { ok: false, reason: "malformed" };
  const expiresAtS = Number(request.expires);
  if (expiresAtS * 1000 < nowMs) return { ok: false, reason: "expired" };
  const expected = await hmacHex(secret, fileUrlPayload(request.method, request.key, expiresAtS, request.contentType, max));
  if (!timingSafeEqual(expected, request.sig)) return { ok: false, reason: "mismatch" };
  return { ok: true, maxBytes: max ? Number(max) : null };
}
