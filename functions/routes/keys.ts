/**
 * An account's API keys, managed with one of its keys: create (the key is shown
 * in this one response and never again), list (prefix, name, created, last used,
 * revoked — never the key or its hash), revoke (the next request with it is a
 * 401). A test key sees, creates and revokes test keys only, so a leaked test key
 * can neither spend nor lock the account's live traffic out.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { isId } from "../../shared/index.js";
import { KEY_MODES } from "../accounts/api-keys.js";
import { issueKey, revokeKey } from "../accounts/issue-key.js";
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { security } from "./job-actions.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    mode: z.enum(KEY_MODES),
    prefix: z.string().openapi({ description: "The key's first characters, for support and for telling keys apart" }),
    created_at: z.number().int(),
    last_used_at: z.number().int().nullable(),
    revoked_at: z.number().int().nullable(),
  })
  .openapi("ApiKey");

const CreatedKeySchema = ApiKeySchema.extend({
  api_key: z.string().openapi({ description: "The key itself: shown only in this response" }),
}).openapi("CreatedApiKey");

const CreateKeySchema = z
  .object({
    name: z.string().min(1).max(100),
    mode: z.enum(KEY_MODES).optional().openapi({ description: "Defaults to the calling key's mode" }),
  })
  .strict()
  .openapi("CreateApiKey");

const KeyIdParams = z.object({ id: z.string().min(1).max(64) });

const createKey = createRoute({
  method: "post",
  path: "/",
  tags: ["keys"],
  summary: "Create an API key (shown once)",
  security,
  request: { body: { content: { "application/json": { schema: CreateKeySchema } }, required: true } },
  responses: {
    201: jsonContent(CreatedKeySchema, "The new key"),
    ...errorResponses,
    403: errorResponse("A test key cannot create a live key"),
  },
});

const listKeys = createRoute({
  method: "get",
  path: "/",
  tags: ["keys"],
  summary: "This account's API keys, newest first",
  security,
  responses: { 200: jsonContent(z.object({ items: z.array(ApiKeySchema) }), "The keys"), ...errorResponses },
});

const deleteKey = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["keys"],
  summary: "Revoke an API key (effective on the next request)",
  security,
  request: { params: KeyIdParams },
  responses: { 200: jsonContent(ApiKeySchema, "The revoked key"), ...errorResponses },
});

export const keys = createRouter()
  .openapi(createKey, async (c) => {
    const body = c.req.valid("json");
    const mode = body.mode ?? c.get("keyMode");
    if (mode === "live" && c.get("keyMode") === "test") throw new ApiError(403, "forbidden", "A test key cannot create a live key");
    const issued = await issueKey(c.env, c.get("accountId"), { mode, name: body.name });
    // Never cached, nor kept as an idempotent replay: the key exists in this one answer only.
    c.header("Cache-Control", "no-store");
    return c.json({ ...issued.key, api_key: issued.api_key }, 201);
  })
  .openapi(listKeys, async (c) => {
    const keys = await accountStore(c.env, c.get("accountId")).listKeys();
    return c.json({ items: keys.filter((key) => c.get("keyMode") === "live" || key.mode === "test") }, 200);
  })
  .openapi(deleteKey, async (c) => {
    const { id } = c.req.valid("param");
    const revoked = isId("apiKey", id) ? await revokeKey(c.env, c.get("accountId"), id, c.get("keyMode")) : null;
    if (!revoked) throw new ApiError(404, "not_found", `No API key ${id}`);
    return c.json(revoked, 200);
  });
