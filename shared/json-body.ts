/**
 * "Parse JSON, then check it against the contract" for request bodies read as text
 * (they are read raw because a signature covers the exact bytes). One outcome type
 * for both runtimes; each side turns a failure into its own 400 envelope.
 */
import type { z } from "zod";

export type JsonBodyResult<T> = { ok: true; data: T } | { ok: false; code: "invalid_json" } | { ok: false; code: "invalid_request"; error: z.ZodError };

export function parseJsonBody<S extends z.ZodType>(raw: string, schema: S): JsonBodyResult<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, code: "invalid_json" };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, code: "invalid_request", error: parsed.error };
}
