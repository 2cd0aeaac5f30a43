/**
 * `POST /bots/slack/events`: the Events API endpoint. Slack proves the URL with a
 * signed `url_verification` challenge when the app is configured; other events are
 * acknowledged (200) so Slack does not retry them — the bot's work arrives as slash
 * commands, and shared photos are read from the channel when `train` runs.
 */
import type { Context } from "hono";
import { z } from "zod";
import { ApiError, describeIssues } from "../../errors.js";
import type { AppEnv } from "../../types.js";
import { verifiedSlackBody } from "./verify.js";

const EventEnvelopeSchema = z.union([
  z.object({ type: z.literal("url_verification"), challenge: z.string().min(1).max(200) }),
  z.object({ type: z.string().min(1), team_id: z.string().optional() }),
]);

export async function slackEvents(c: Context<AppEnv>): Promise<Response> {
  const raw = await verifiedSlackBody(c);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ApiError(400, "invalid_json", "Body is not JSON");
  }
  const parsed = EventEnvelopeSchema.safeParse(json);
  if (!parsed.success) throw new ApiError(400, "invalid_request", "Not a Slack event", { issues: describeIssues(parsed.error) });
  if ("challenge" in parsed.data) return c.json({ challenge: parsed.data.challenge });
  return c.json({ ok: true });
}
