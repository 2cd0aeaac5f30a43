/**
 * Shared OpenAPI response entries, so every route documents its errors with the
 * one envelope schema without repeating it.
 */
import { ErrorEnvelopeSchema } from "../errors.js";

const envelope = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorEnvelopeSchema } },
});

export const errorResponses = {
  400: envelope("Invalid request; details.issues names each field"),
  401: envelope("Missing or invalid API key"),
  404: envelope("No such resource in this account"),
} as const;

export const jsonContent = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export { envelope as errorResponse };
