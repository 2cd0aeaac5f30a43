/**
 * The chat platforms' endpoints, mounted at `/bots`. They authenticate by each
 * platform's request signature instead of an API key, and act for the account the
 * guild or workspace is linked to (`links.ts`). The body is read raw (the signature
 * covers its exact bytes) and validated after verification, so the route entries
 * below only document it. Bodies are capped like the API's JSON bodies.
 */
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { errorResponse } from "../responses.js";
import { discordInteractions } from "./discord/interactions.js";
import { slackCommands } from "./slack/commands.js";
import { slackEvents } from "./slack/events.js";

const signedResponses = {
  400: errorResponse("Signed, but not a request of this platform"),
  401: errorResponse("Missing or invalid platform signature"),
  413: errorResponse("Body too large"),
  503: errorResponse("A bot secret is not configured; the message names it"),
};

const platformRoute = (path: string, summary: string, description: string) =>
  createRoute({
    method: "post",
    path,
    tags: ["bots"],
    summary,
    // The 200 bodies are each platform's own protocol (documented by Discord and Slack), not our schemas.
    responses: { 200: { description }, ...signedResponses },
  });

export const bots = createRouter()
  .openapi(
    platformRoute("/discord/interactions", "Discord interactions endpoint (Ed25519-signed)", "PONG, an immediate reply, or a deferred reply"),
    discordInteractions,
  )
  .openapi(platformRoute("/slack/commands", "Slack /dreambooth slash command (signed)", "Immediate ephemeral acknowledgement"), slackCommands)
  .openapi(platformRoute("/slack/events", "Slack Events API endpoint (signed)", "The url_verification challenge, or ok"), slackEvents);
