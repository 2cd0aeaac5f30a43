/**
 * `GET /v1/models`: the base models this deployment trains from, what each can
 * draw (vocabulary, resolution, a suggested prompt), a quick training, the
 * training-time estimate on the device the caller's jobs run on, the base model's
 * own scores, and the prices. A client reads it once to set honest defaults.
 */
import { createRoute } from "@hono/zod-openapi";
import { callerOf } from "../caller.js";
import { baseModelCatalog } from "../jobs/base-model-catalog.js";
import { BaseModelListSchema } from "../jobs/base-model-schema.js";
import { createRouter } from "../router.js";
import { errorResponses, jsonContent } from "../responses.js";
import { security } from "./job-actions.js";

const listBaseModels = createRoute({
  method: "get",
  path: "/",
  tags: ["models"],
  summary: "Base models, what they can draw, training-time estimates and prices",
  security,
  responses: { 200: jsonContent(BaseModelListSchema, "The deployment's base models"), ...errorResponses },
});

export const baseModels = createRouter().openapi(listBaseModels, (c) => c.json(baseModelCatalog(callerOf(c)), 200));
