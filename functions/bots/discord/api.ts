/**
 * The few Discord REST calls the bot makes: edit the deferred reply of an
 * interaction or add a follow-up (its token is valid for 15 minutes), and post to a
 * channel with the bot token (for news that comes later). Files travel as Discord documents it:
 * multipart with `payload_json` plus `files[n]`, each listed in `attachments`.
 */
import { requireSecret, type Secrets } from "../../secrets.js";

export interface DiscordMessage {
  content: string;
  /** 64 = ephemeral (only the invoking user sees it). */
  flags?: number;
  allowed_mentions?: { parse?: string[]; users?: string[] };
}

export interface OutgoingFile {
  filename: string;
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** The interaction token's lifetime; past it only the bot token can post. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60 * 1000;

export interface DiscordConfig {
  apiBase: string;
  applicationId: string;
  botToken: string;
}

function messageBody(message: DiscordMessage, files: OutgoingFile[]): { body: BodyInit; headers: Record<string, string> } {
  if (files.length === 0) return { body: JSON.stringify(message), headers: { "content-type": "application/json" } };
  const form = new FormData();
  const attachments = files.map((file, index) => ({ id: index, filename: file.filename }));
  form.append("payload_json", JSON.stringify({ ...message, attachments }));
  files.forEach((file, index) => form.append(`files[${index}]`, new Blob([file.bytes], { type: file.contentType }), file.filename));
  return { body: form, headers: {} };
}

async function send(url: string, method: string, message: DiscordMessage, files: OutgoingFile[], auth?: string): Promise<void> {
  const { body, headers } = messageBody(message, files);
  const response = await fetch(url, {
    method,
    body,
    headers: { ...headers, "user-agent": "DiscordBot (https://github.com/dreambooth-edge, 1.0)", ...(auth ? { authorization: auth } : {}) },
  });
  if (!response.ok) throw new Error(`Discord ${method} ${new URL(url).pathname} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  await response.body?.cancel();
}

export function editOriginal(config: DiscordConfig, token: string, message: DiscordMessage, files: OutgoingFile[] = []): Promise<void> {
  const url = `${config.apiBase}/webhooks/${config.applicationId}/${token}/messages/@original`;
  return send(url, "PATCH", message, files);
}

/** A new message in the interaction's channel (public unless flagged ephemeral), while its token lives. */
export function followUp(config: DiscordConfig, token: string, message: DiscordMessage, files: OutgoingFile[] = []): Promise<void> {
  return send(`${config.apiBase}/webhooks/${config.applicationId}/${token}`, "POST", message, files);
}

export function postChannelMessage(config: DiscordConfig, channelId: string, message: DiscordMessage, files: OutgoingFile[] = []): Promise<void> {
  return send(`${config.apiBase}/channels/${channelId}/messages`, "POST", message, files, `Bot ${config.botToken}`);
}

/** The bot's Discord settings; a missing secret is the 503 naming it. */
export function discordConfig(env: Env & Secrets): DiscordConfig {
  return {
    apiBase: env.DISCORD_API_BASE,
    applicationId: requireSecret(env, "DISCORD_APPLICATION_ID"),
    botToken: requireSecret(env, "DISCORD_BOT_TOKEN"),
  };
}
