/**
 * Shared OpenAPI response entries, so every route documents its errors with the
 * one envelope schema without repeating it.
 */
import { ErrorEnvelopeSchema } from "./errors.js";

/** A documented error response: the one envelope, with what this status means here. */
export const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorEnvelopeSchema } },
});

export const errorResponses = {
  400: errorResponse("Invalid request; details.issues names each field"),
  401: errorResponse("Missing or invalid API key"),
  404: errorResponse("No such resource in this account"),
} as const;

export const jsonContent = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** What a route that reserves credits may also answer. */
export const chargeResponses = {
  402: errorResponse("Not enough credits; details has balance and price"),
  429: errorResponse("Rate limit or the plan's concurrent jobs reached; see Retry-After"),
} as const;
