/**
 * `POST /v1/bot-links`: the install step that ties a Discord server or Slack
 * workspace to the calling account. It returns a one-time code, valid 15 minutes,
 * which an admin of the chat types as `/dreambooth link <code>`; the code is the
 * only thing that carries the account across, so no chat can pick an account itself.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireLiveKey } from "../accounts/live-only.js";
import { createRouter } from "../router.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";
import { issueLinkCode } from "./links.js";

const BotLinkCodeSchema = z
  .object({
    code: z.string().openapi({ example: "K7PQ2XMR" }),
    expires_at: z.number().int().openapi({ description: "Unix ms" }),
    discord: z.string(),
    slack: z.string(),
  })
  .openapi("BotLinkCode");

const createLinkCode = createRoute({
  method: "post",
  path: "/",
  tags: ["bots"],
  summary: "Create a one-time code that links a Discord server or Slack workspace to this account",
  security: [{ apiKey: [] }],
  responses: {
    201: jsonContent(BotLinkCodeSchema, "The code and how to use it"),
    401: errorResponses[401],
    403: errorResponse("A test key cannot link a chat (chat commands act as a live key)"),
  },
});

export const botLinks = createRouter().openapi(createLinkCode, async (c) => {
  requireLiveKey(c.var.keyMode, "link a chat, whose commands act as a live key");
  const { code, expires_at } = await issueLinkCode(c.env, c.var.accountId, Date.now());
  return c.json({ code, expires_at, discord: `/dreambooth link code:${code}`, slack: `/dreambooth link ${code}` }, 201);
});
