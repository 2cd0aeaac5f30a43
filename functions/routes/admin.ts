/**
 * Operator routes, guarded by `ADMIN_TOKEN`: creating an account with its first
 * API key. Local dev seeds its account through here; key management proper comes
 * with billing. Without `ADMIN_TOKEN` the routes answer 503, never open.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { newId, timingSafeEqual } from "../../shared/index.js";
import { apiKeyStore } from "../accounts/api-key-do.js";
import { hashApiKey, KEY_MODES, newApiKey, parseApiKey } from "../accounts/api-keys.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { requireSecret } from "../secrets.js";
import type { AppEnv } from "../types.js";
import { errorResponse, errorResponses, jsonContent } from "./responses.js";

const requireAdminToken = createMiddleware<AppEnv>(async (c, next) => {
  const token = requireSecret(c.env, "ADMIN_TOKEN");
  const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  if (!timingSafeEqual(presented, token)) throw new ApiError(401, "unauthorized", "Invalid admin token");
  await next();
});

const CreateAccountSchema = z
  .object({
    mode: z.enum(KEY_MODES).default("test"),
    /** Registers this exact key instead of minting one, so `npm start` can keep its dev key across restarts. */
    api_key: z.string().refine((key) => parseApiKey(key) !== null, "must look like dbk_live_… or dbk_test_…").optional(),
    account_id: z.string().regex(/^acc_[0-9a-z]{20}$/).optional(),
  })
  .strict();

const AccountCreatedSchema = z.object({ account_id: z.string(), api_key: z.string(), mode: z.enum(KEY_MODES) });

const createAccount = createRoute({
  method: "post",
  path: "/accounts",
  tags: ["admin"],
  summary: "Create an account and its first API key",
  security: [{ adminToken: [] }],
  middleware: [requireAdminToken] as const,
  request: { body: { content: { "application/json": { schema: CreateAccountSchema } }, required: true } },
  responses: {
    201: jsonContent(AccountCreatedSchema, "Account created"),
    400: errorResponses[400],
    401: errorResponse("Bad admin token"),
    503: errorResponse("ADMIN_TOKEN not configured"),
  },
});

export const admin = createRouter().openapi(createAccount, async (c) => {
  const body = c.req.valid("json");
  const apiKey = body.api_key ?? newApiKey(body.mode);
  const mode = parseApiKey(apiKey)!;
  // A key registered before keeps its first account: re-seeding is idempotent, never a takeover.
  const record = await apiKeyStore(c.env, await hashApiKey(apiKey)).register(body.account_id ?? newId("account"), mode);
  return c.json({ account_id: record.account_id, api_key: apiKey, mode: record.mode }, 201);
});
