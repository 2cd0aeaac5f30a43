/**
 * Request-size caps, counted in bytes as the body streams, so a client that lies
 * in Content-Length (or sends a chunked body with none) is cut off at the limit and
 * nothing past it is ever buffered. The overflow is the 413 envelope.
 *
 * Why not Hono's `bodyLimit`: on overflow it answers with the rest of the body
 * unread. The answer then leaves while the client is still sending; the connection
 * that carried the request (under `wrangler dev`, the proxy's connection to the
 * Worker) is left mid-body, the proxy counts the failed fetch as a crash and
 * reloads, and the next non-GET request gets its "Your worker restarted
 * mid-request" 503. Cancelling the body is not enough (the bytes are still in
 * flight); here a refused body is read to its end and thrown away, never held,
 * before the answer goes, up to `DISCARD_LIMIT`.
 */
import { createMiddleware } from "hono/factory";
import { concatBytes } from "./bytes.js";
import { ApiError } from "./errors.js";
import { PHOTO_RULES } from "./subjects/photo-checks.js";
import type { AppEnv } from "./types.js";

/** JSON bodies of the public API: generous for prompts and parameter sets, far below anything abusive. */
export const JSON_BODY_LIMIT = 64 * 1024;

export function bodyTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
}

/** The declared length when it alone proves the body too large (no Transfer-Encoding overriding it). */
function declaredTooLarge(headers: Headers, maxBytes: number): boolean {
  if (headers.has("transfer-encoding")) return false;
  const declared = Number(headers.get("content-length") ?? 0);
  return Number.isFinite(declared) && declared > maxBytes;
}

/**
 * The body as a stream that errors with the 413 once more than `maxBytes` passed,
 * after discarding the remainder. Consumers read it chunk by chunk (a photo checked
 * as it arrives); one that stops early (cancels) has the rest discarded too.
 */
function limitedStream(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      size += value.byteLength;
      if (size > maxBytes) {
        await discardRest(reader);
        controller.error(bodyTooLarge(maxBytes));
        return;
      }
      controller.enqueue(value);
    },
    cancel() {
      return discardRest(reader);
    },
  });
}

/** Cloudflare's own request-body cap on most plans: past it, nothing more is read and the rest is cancelled. */
const DISCARD_LIMIT = 100 * 1024 * 1024;

/** Reads the rest of a refused body without keeping it, so the connection ends cleanly. */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let discarded = 0;
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      discarded += chunk.value.byteLength;
      if (discarded > DISCARD_LIMIT) return await reader.cancel("body too large");
    }
  } catch {
    // The client went away or the body errored: there is nothing left to read.
  }
}

/** Reads a whole body of at most `maxBytes` (a 413 past that, the rest discarded). */
async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  await refuseDeclaredOversize(request, maxBytes);
  const chunks: Uint8Array[] = [];
  const reader = limitedStream(request.body, maxBytes).getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) chunks.push(chunk.value);
  return concatBytes(chunks);
}

/** Throws the 413 for a declared oversize body, once its bytes are discarded; else does nothing. */
async function refuseDeclaredOversize(request: Request, maxBytes: number): Promise<void> {
  if (request.body && declaredTooLarge(request.headers, maxBytes)) {
    await discardRest(request.body.getReader());
    throw bodyTooLarge(maxBytes);
  }
}

/**
 * Bodies that are not JSON-sized. `stream`: the route reads the body as it arrives
 * through `limitedStream` (set up here); `own`: the route enforces a limit the
 * request itself carries (a signed upload URL's size). Every other body is read
 * here, at most `JSON_BODY_LIMIT` bytes, before any middleware or route sees it.
 */
const LARGE_BODIES: { method: string; path: RegExp; limit: { stream: number } | { buffer: number } | "own" }[] = [
  { method: "PUT", path: /^\/v1\/subjects\/[^/]+\/images\/[^/]+$/, limit: { stream: PHOTO_RULES.maxBytes } },
  { method: "PUT", path: /^\/files\//, limit: "own" },
  // Replicate's snapshots carry the run's logs.
  { method: "POST", path: /^\/v1\/webhooks\/replicate\/?$/, limit: { buffer: 1024 * 1024 } },
];

/**
 * The size cap of every request body, applied before anything reads it. Whatever
 * the answer, a body still unread when it leaves (refused by auth, by a 411) is
 * discarded first, so no answer ever leaves a half-sent body behind.
 */
export const limitRequestBodies = createMiddleware<AppEnv>(async (c, next) => {
  const request = c.req.raw;
  if (!request.body) return next();
  const path = new URL(request.url).pathname;
  const limit = LARGE_BODIES.find((entry) => entry.method === request.method && entry.path.test(path))?.limit ?? { buffer: JSON_BODY_LIMIT };
  let unread: ReadableStream<Uint8Array> = request.body;
  try {
    if (limit !== "own" && "stream" in limit) {
      await refuseDeclaredOversize(request, limit.stream);
      unread = limitedStream(request.body, limit.stream);
      c.req.raw = new Request(request, { body: unread });
    } else if (limit !== "own") {
      c.req.raw = new Request(request, { body: await readLimited(request, limit.buffer) });
    }
    await next();
  } finally {
    // A stream a route read (or is reading) is locked: the route's reader owns it.
    if (!unread.locked) await discardRest(unread.getReader());
  }
});
