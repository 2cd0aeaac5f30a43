/**
 * `POST /bots/slack/commands`: the `/dreambooth` slash command. Slack wants an
 * answer within 3 seconds, so the handler acknowledges at once (an ephemeral line)
 * and does the work after the response (`waitUntil`), reporting through the
 * command's `response_url`. Photos for `train` are the image files the same person
 * shared in the channel during the last hour, downloaded with the bot token.
 */
import type { Context } from "hono";
import { z } from "zod";
import { ApiError, describeIssues } from "../../errors.js";
import { originOf } from "../../caller.js";
import type { AppEnv } from "../../types.js";
import { BOT_PHOTO_LIMITS, BotError, describeFailure, imagineFromChat, statusReport, subjectsReport, trainFromChat } from "../actions.js";
import type { ChatTarget } from "../../jobs/chat-target.js";
import { linkedAccount, LinkCodeSchema, redeemLinkCode } from "../links.js";
import { downloadFile, recentMessages, respond, slackConfig, type SlackConfig } from "./api.js";
import { parseSlackCommand, SLACK_HELP, type SlackCommand } from "./command-text.js";
import { slackMarkdown } from "./notify.js";
import { verifiedSlackBody } from "./verify.js";

export const SlashCommandSchema = z.object({
  team_id: z.string().min(1),
  channel_id: z.string().min(1),
  user_id: z.string().min(1),
  command: z.string(),
  text: z.string().max(4000).default(""),
  response_url: z.url(),
});
type SlashCommand = z.infer<typeof SlashCommandSchema>;

/** How far back `train` looks for the photos someone shared. */
const PHOTO_LOOKBACK_S = 3600;

export const SLACK_UNLINKED_MESSAGE =
  "This workspace isn't linked to a DreamBooth account yet. The account owner creates a code with " +
  "`POST /v1/bot-links` (their API key), then runs `/dreambooth link <code>` here.";

const ephemeral = (text: string) => ({ response_type: "ephemeral", text });

export async function slackCommands(c: Context<AppEnv>): Promise<Response> {
  const raw = await verifiedSlackBody(c);
  const config = slackConfig(c.env);
  const parsed = SlashCommandSchema.safeParse(Object.fromEntries(new URLSearchParams(raw)));
  if (!parsed.success) throw new ApiError(400, "invalid_request", "Not a Slack slash command", { issues: describeIssues(parsed.error) });
  const slash = parsed.data;
  const command = parseSlackCommand(slash.text);

  if (command.kind === "help") return c.json(ephemeral(command.problem ? `${command.problem}\n${SLACK_HELP}` : SLACK_HELP));
  if (command.kind === "link") return c.json(ephemeral(await linkWorkspace(c.env, slash.team_id, command.code)));
  const accountId = await linkedAccount(c.env, "slack", slash.team_id);
  if (!accountId) return c.json(ephemeral(SLACK_UNLINKED_MESSAGE));

  c.executionCtx.waitUntil(runCommand(c.env, config, slash, command, accountId, originOf(c.req.url)));
  return c.json(ephemeral("Working on it…"));
}

async function linkWorkspace(env: Env, teamId: string, code: string): Promise<string> {
  const parsed = LinkCodeSchema.safeParse(code);
  if (!parsed.success) return "That doesn't look like a link code (8 letters and digits from `POST /v1/bot-links`).";
  return (await redeemLinkCode(env, "slack", teamId, parsed.data))
    ? "This workspace is now linked to your DreamBooth account. Share a few photos here, then `/dreambooth train <class> [name]`."
    : "That code is unknown, already used or expired; create a new one with `POST /v1/bot-links`.";
}

async function runCommand(
  env: AppEnv["Bindings"],
  config: SlackConfig,
  slash: SlashCommand,
  command: Exclude<SlackCommand, { kind: "help" | "link" }>,
  accountId: string,
  origin: string,
): Promise<void> {
  const notify: ChatTarget = { platform: "slack", team_id: slash.team_id, channel_id: slash.channel_id, user_id: slash.user_id };
  try {
    await respond(slash.response_url, slackMarkdown(await commandOutcome(env, config, slash, command, accountId, origin, notify)));
  } catch (error) {
    await respond(slash.response_url, slackMarkdown(`:warning: ${describeFailure(error)}`)).catch((failure) =>
      console.error("slack response_url failed", failure),
    );
  }
}

async function commandOutcome(
  env: AppEnv["Bindings"],
  config: SlackConfig,
  slash: SlashCommand,
  command: Exclude<SlackCommand, { kind: "help" | "link" }>,
  accountId: string,
  origin: string,
  notify: ChatTarget,
): Promise<string> {
  switch (command.kind) {
    case "train": {
      const files = await sharedPhotos(config, slash);
      await respond(slash.response_url, `Checking ${files.length} photos…`);
      const { subject, training } = await trainFromChat(
        env,
        accountId,
        { name: command.name, class_noun: command.class_noun, files, download: (url) => downloadFile(config, url) },
        origin,
        notify,
      );
      return `Training **${subject.name}** (${subject.class_noun}) from ${subject.photos.length} photos: \`${training.id}\`. I'll post in this channel when it's done.`;
    }
    case "imagine": {
      const { subject, generation } = await imagineFromChat(env, accountId, command, origin, notify);
      const count = generation.params.num_images;
      return `Imagining ${count} image${count === 1 ? "" : "s"} of **${subject.name}** (\`${generation.id}\`); they'll appear in this channel.`;
    }
    case "status":
      return statusReport(env, accountId, command.job);
    case "subjects":
      return subjectsReport(env, accountId);
  }
}

/** The image files this person shared in the channel recently, oldest first, at most the bot's limit. */
async function sharedPhotos(config: SlackConfig, slash: SlashCommand) {
  const messages = await recentMessages(config, slash.channel_id, Math.floor(Date.now() / 1000) - PHOTO_LOOKBACK_S);
  const files = messages
    .filter((message) => message.user === slash.user_id)
    .flatMap((message) => [...message.files].reverse())
    .filter((file) => file.mimetype.startsWith("image/"))
    .slice(0, BOT_PHOTO_LIMITS.max)
    .reverse();
  if (files.length === 0) {
    throw new BotError(`I found no photos from you in this channel in the last hour. Share ${BOT_PHOTO_LIMITS.min}–${BOT_PHOTO_LIMITS.max} photos here, then run the command again.`);
  }
  return files.map((file) => ({ name: file.name, size: file.size, url: file.url_private_download }));
}
