/**
 * Operator routes, guarded by `ADMIN_TOKEN`: create an account with its first API
 * key (and optionally a plan and opening credits), grant credits, change an
 * account's plan, issue it another key. `scripts/admin.mjs` calls them. Without
 * `ADMIN_TOKEN` the routes answer 503, never open.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { newId, timingSafeEqual } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { KEY_MODES, parseApiKey } from "../accounts/api-keys.js";
import { issueKey } from "../accounts/issue-key.js";
import { PlanNameSchema } from "../billing/plans.js";
import { ApiError } from "../errors.js";
import { createRouter } from "../router.js";
import { requireSecret } from "../secrets.js";
import type { AppEnv } from "../types.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";

const requireAdminToken = createMiddleware<AppEnv>(async (c, next) => {
  const token = requireSecret(c.env, "ADMIN_TOKEN");
  const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  if (!timingSafeEqual(presented, token)) throw new ApiError(401, "unauthorized", "Invalid admin token");
  await next();
});

const ACCOUNT_ID = /^acc_[0-9a-z]{20}$/;
const security = [{ adminToken: [] }];
const adminErrors = {
  400: errorResponses[400],
  401: errorResponse("Bad admin token"),
  503: errorResponse("ADMIN_TOKEN not configured"),
};

const CreateAccountSchema = z
  .object({
    mode: z.enum(KEY_MODES).default("test"),
    /** Registers this exact key instead of minting one, so `npm start` can keep its dev key across restarts. */
    api_key: z.string().refine((key) => parseApiKey(key) !== null, "must look like dbk_live_… or dbk_test_…").optional(),
    account_id: z.string().regex(ACCOUNT_ID).optional(),
    plan: PlanNameSchema.optional(),
    credits: z.number().int().min(0).max(1e12).optional(),
    key_name: z.string().min(1).max(100).default("first key"),
  })
  .strict();

const AccountCreatedSchema = z.object({
  account_id: z.string(),
  api_key: z.string(),
  mode: z.enum(KEY_MODES),
  plan: PlanNameSchema,
  balance: z.number().int(),
});

const GrantSchema = z.object({ amount: z.number().int().min(1).max(1e12), note: z.string().max(200).optional() }).strict();
const AccountParams = z.object({ id: z.string().regex(ACCOUNT_ID) });

const createAccount = createRoute({
  method: "post",
  path: "/accounts",
  tags: ["admin"],
  summary: "Create an account and its first API key",
  security,
  middleware: [requireAdminToken] as const,
  request: { body: { content: { "application/json": { schema: CreateAccountSchema } }, required: true } },
  responses: { 201: jsonContent(AccountCreatedSchema, "Account created"), ...adminErrors },
});

const grantCredits = createRoute({
  method: "post",
  path: "/accounts/{id}/credits",
  tags: ["admin"],
  summary: "Grant credits to an account",
  security,
  middleware: [requireAdminToken] as const,
  request: { params: AccountParams, body: { content: { "application/json": { schema: GrantSchema } }, required: true } },
  responses: { 200: jsonContent(z.object({ account_id: z.string(), balance: z.number().int() }), "New balance"), ...adminErrors },
});

const setPlan = createRoute({
  method: "patch",
  path: "/accounts/{id}",
  tags: ["admin"],
  summary: "Change an account's plan",
  security,
  middleware: [requireAdminToken] as const,
  request: {
    params: AccountParams,
    body: { content: { "application/json": { schema: z.object({ plan: PlanNameSchema }).strict() } }, required: true },
  },
  responses: { 200: jsonContent(z.object({ account_id: z.string(), plan: PlanNameSchema }), "Plan set"), ...adminErrors },
});

const addKey = createRoute({
  method: "post",
  path: "/accounts/{id}/keys",
  tags: ["admin"],
  summary: "Issue another API key for an account (e.g. after its keys were lost)",
  security,
  middleware: [requireAdminToken] as const,
  request: {
    params: AccountParams,
    body: {
      content: {
        "application/json": {
          schema: z.object({ mode: z.enum(KEY_MODES).default("live"), name: z.string().min(1).max(100).default("operator issued") }).strict(),
        },
      },
      required: true,
    },
  },
  responses: { 201: jsonContent(z.object({ account_id: z.string(), api_key: z.string(), id: z.string() }), "The key (shown once)"), ...adminErrors },
});

export const admin = createRouter()
  .openapi(createAccount, async (c) => {
    const body = c.req.valid("json");
    const issued = await issueKey(c.env, body.account_id ?? newId("account"), {
      mode: body.mode,
      name: body.key_name,
      ...(body.api_key ? { api_key: body.api_key } : {}),
    });
    // A key registered before keeps its first account: re-seeding is idempotent, never a takeover.
    const account = accountStore(c.env, issued.account_id);
    const settings = await account.updateSettings(body.plan ? { plan: body.plan } : {});
    const balance = body.credits ? await account.grantCredits(body.credits, "opening credits") : (await account.usage({ limit: 1 })).balance;
    return c.json({ account_id: issued.account_id, api_key: issued.api_key, mode: issued.key.mode, plan: settings.plan, balance }, 201);
  })
  .openapi(grantCredits, async (c) => {
    const { id } = c.req.valid("param");
    const { amount, note } = c.req.valid("json");
    const balance = await accountStore(c.env, id).grantCredits(amount, note ?? null);
    return c.json({ account_id: id, balance }, 200);
  })
  .openapi(setPlan, async (c) => {
    const { id } = c.req.valid("param");
    const settings = await accountStore(c.env, id).updateSettings({ plan: c.req.valid("json").plan });
    return c.json({ account_id: id, plan: settings.plan }, 200);
  })
  .openapi(addKey, async (c) => {
    const { id } = c.req.valid("param");
    const issued = await issueKey(c.env, id, c.req.valid("json"));
    return c.json({ account_id: issued.account_id, api_key: issued.api_key, id: issued.key.id }, 201);
  });
