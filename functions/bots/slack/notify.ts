/**
 * Posts a job's news to the Slack channel a command came from, with
 * the bot token: `response_url` has expired by the time a training ends, so images
 * are uploaded with the external upload flow and text is a `chat.postMessage`.
 */
import type { Secrets } from "../../secrets.js";
import type { ChatTarget } from "../../jobs/chat-target.js";
import { newsText, type JobNews } from "../news.js";
import { postMessage, slackConfig, uploadFiles } from "./api.js";

/** Slack's mrkdwn bolds with single asterisks. */
export function slackMarkdown(text: string): string {
  return text.replaceAll("**", "*");
}

export async function notifySlack(env: Env & Secrets, target: Extract<ChatTarget, { platform: "slack" }>, news: JobNews): Promise<void> {
  const config = slackConfig(env);
  const text = `${target.user_id ? `<@${target.user_id}> ` : ""}${slackMarkdown(newsText(news, (example) => `\`/dreambooth imagine ${example}\``))}`;
  if (news.files.length > 0) await uploadFiles(config, target.channel_id, news.files, text);
  else await postMessage(config, target.channel_id, text);
}
