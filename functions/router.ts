/**
 * `createRouter()` is how every resource file starts: an OpenAPIHono whose failed
 * validations become the 400 envelope, so the routes only describe their schemas.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "./errors.js";
import type { AppEnv } from "./types.js";

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}
