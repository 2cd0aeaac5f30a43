/**
 * `POST /bots/slack/events`: the Events API endpoint. Slack proves the URL with a
 * signed `url_verification` challenge when the app is configured; other events are
 * acknowledged (200) so Slack does not retry them — the bot's work arrives as slash
 * commands, and shared photos are read from the channel when `train` runs.
 */
import type { Context } from "hono";
import { z } from "zod";
import { jsonBodyOrThrow } from "../../errors.js";
import type { AppEnv } from "../../types.js";
import { verifiedSlackBody } from "./verify.js";

const EventEnvelopeSchema = z.union([
  z.object({ type: z.literal("url_verification"), challenge: z.string().min(1).max(200) }),
  z.object({ type: z.string().min(1), team_id: z.string().optional() }),
]);

export async function slackEvents(c: Context<AppEnv>): Promise<Response> {
  const raw = await verifiedSlackBody(c);
  const event = jsonBodyOrThrow(raw, EventEnvelopeSchema, "a Slack event");
  if ("challenge" in event) return c.json({ challenge: event.challenge });
  return c.json({ ok: true });
}
