/**
 * Reads a request body that must be signed by the Worker, verifies the HMAC over
 * the raw bytes (before any parsing, so nothing unauthenticated is interpreted)
 * and validates it with a zod schema. 401 for a bad signature, 400 for bad JSON
 * or a message that does not match the contract.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { parseJsonBody } from "../../../shared/json-body.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../../shared/signing.js";
import { HttpError } from "./errors.js";

export async function readSignedJson<S extends z.ZodType>(c: Context, secret: string, schema: S): Promise<z.infer<S>> {
  const raw = await c.req.text();
  const check = await verifySignature(secret, raw, c.req.header(TIMESTAMP_HEADER), c.req.header(SIGNATURE_HEADER));
  if (!check.ok) throw new HttpError(401, "invalid_signature", `request signature is ${check.reason}`);
  const parsed = parseJsonBody(raw, schema);
  if (parsed.ok) return parsed.data;
  if (parsed.code === "invalid_json") throw new HttpError(400, "invalid_json", "request body is not valid JSON");
  throw new HttpError(400, "invalid_request", "request body does not match the job contract", parsed.error.issues);
}
