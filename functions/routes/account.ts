/**
 * `GET/PATCH /v1/account`: the caller's plan, its default `webhook_url` (used by
 * jobs that name none) and the `whsec_` secret its webhooks are signed with, which
 * the customer needs to verify them. These are live settings: a test key reads the
 * plan and webhook URL without the secret, and cannot change anything (403).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { accountStore } from "../accounts/account-do.js";
import { requireLiveKey } from "../accounts/live-only.js";
import { checkWebhookUrl } from "../billing/charges.js";
import { PLAN_NAMES } from "../billing/plans.js";
import { createRouter } from "../router.js";
import { security } from "./job-actions.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";

const AccountSchema = z
  .object({
    id: z.string(),
    plan: z.enum(PLAN_NAMES),
    webhook_url: z.string().nullable(),
    webhook_secret: z
      .string()
      .optional()
      .openapi({ description: "Standard Webhooks secret (whsec_…) the account's webhooks are signed with; shown to live keys only" }),
  })
  .openapi("Account");

const UpdateAccountSchema = z
  .object({ webhook_url: z.url({ protocol: /^https?$/ }).max(2000).nullable() })
  .strict()
  .openapi("UpdateAccount");

const getAccount = createRoute({
  method: "get",
  path: "/",
  tags: ["billing"],
  summary: "The account's plan and webhook settings",
  security,
  responses: { 200: jsonContent(AccountSchema, "The account"), ...errorResponses },
});

const updateAccount = createRoute({
  method: "patch",
  path: "/",
  tags: ["billing"],
  summary: "Set or clear the account's default webhook_url",
  security,
  request: { body: { content: { "application/json": { schema: UpdateAccountSchema } }, required: true } },
  responses: { 200: jsonContent(AccountSchema, "The account"), ...errorResponses, 403: errorResponse("A test key cannot change live settings") },
});

export const account = createRouter()
  .openapi(getAccount, async (c) => {
    const { webhook_secret, ...settings } = await accountStore(c.env, c.get("accountId")).accountSettings();
    return c.json({ id: c.get("accountId"), ...settings, ...(c.get("keyMode") === "live" ? { webhook_secret } : {}) }, 200);
  })
  .openapi(updateAccount, async (c) => {
    requireLiveKey(c.get("keyMode"), "change the account's webhook");
    const { webhook_url } = c.req.valid("json");
    if (webhook_url) checkWebhookUrl(c.env, webhook_url);
    const settings = await accountStore(c.env, c.get("accountId")).updateSettings({ webhook_url });
    return c.json({ id: c.get("accountId"), ...settings }, 200);
  });
