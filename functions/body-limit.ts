/**
 * Request-size caps. Hono's `bodyLimit` counts bytes as they stream, so a client
 * that lies in Content-Length (or sends none) is still cut off; the overflow
 * becomes the 413 envelope instead of Hono's plain-text answer.
 */
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./errors.js";

/** JSON bodies of the public API: generous for prompts and parameter sets, far below anything abusive. */
export const JSON_BODY_LIMIT = 64 * 1024;

export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
    },
  });
}
