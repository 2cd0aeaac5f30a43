/**
 * Posts a job's news to the Discord channel it was started from, for everyone to
 * see (the command's own reply is ephemeral). Images are a follow-up of the
 * interaction while its token is still good; everything else, and anything after
 * 15 minutes, is a channel message with the bot token, mentioning who asked.
 */
import type { Secrets } from "../../secrets.js";
import type { ChatTarget } from "../../jobs/chat-target.js";
import { newsText, type JobNews } from "../news.js";
import { discordConfig, followUp, INTERACTION_TOKEN_TTL_MS, postChannelMessage } from "./api.js";

/** Leave a minute of slack: an edit that starts just before expiry may land just after it. */
const TOKEN_MARGIN_MS = 60_000;

export async function notifyDiscord(env: Env & Secrets, target: Extract<ChatTarget, { platform: "discord" }>, news: JobNews): Promise<void> {
  const config = discordConfig(env);
  const mention = target.user_id ? `<@${target.user_id}> ` : "";
  const allowed_mentions = { parse: [], ...(target.user_id ? { users: [target.user_id] } : {}) };
  const tokenFresh =
    target.interaction_token !== undefined &&
    target.interaction_at !== undefined &&
    Date.now() - target.interaction_at < INTERACTION_TOKEN_TTL_MS - TOKEN_MARGIN_MS;
  const content = `${mention}${newsText(news, (example) => `\`/dreambooth imagine prompt: ${example}\``)}`;
  if (news.kind === "generate" && tokenFresh) {
    await followUp(config, target.interaction_token!, { content, allowed_mentions }, news.files);
    return;
  }
  await postChannelMessage(config, target.channel_id, { content, allowed_mentions }, news.files);
}
