/**
 * The Slack Web API calls the bot makes, form-encoded with the bot token as Slack
 * documents them: read recent channel messages (for shared photos), post a message,
 * and the current upload flow (`files.getUploadURLExternal`, POST the bytes to the
 * returned URL, `files.completeUploadExternal` to share them). Slack answers 200
 * with `ok: false` on failure, which becomes an error naming the method.
 */
import { z } from "zod";
import { requireSecret, type Secrets } from "../../secrets.js";
import type { OutgoingFile } from "../discord/api.js";

export interface SlackConfig {
  apiBase: string;
  botToken: string;
}

export function slackConfig(env: Env & Secrets): SlackConfig {
  return { apiBase: env.SLACK_API_BASE, botToken: requireSecret(env, "SLACK_BOT_TOKEN") };
}

const OkSchema = z.object({ ok: z.boolean(), error: z.string().optional() });

async function call<T extends z.ZodType>(config: SlackConfig, method: string, params: Record<string, string>, schema: T): Promise<z.infer<T>> {
  const response = await fetch(`${config.apiBase}/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${config.botToken}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
  if (!response.ok) throw new Error(`Slack ${method} answered ${response.status}`);
  const body: unknown = await response.json();
  const status = OkSchema.parse(body);
  if (!status.ok) throw new Error(`Slack ${method} failed: ${status.error ?? "unknown error"}`);
  return schema.parse(body);
}

export const SlackFileSchema = z.object({
  id: z.string(),
  name: z.string(),
  mimetype: z.string(),
  size: z.number().int().nonnegative(),
  url_private_download: z.url(),
});
export type SlackFile = z.infer<typeof SlackFileSchema>;

const HistorySchema = z.object({
  messages: z.array(z.object({ user: z.string().optional(), ts: z.string(), files: z.array(z.unknown()).optional() })),
});

/** The channel's recent messages (newest first), with the files each carries. */
export async function recentMessages(config: SlackConfig, channelId: string, oldestS: number) {
  const history = await call(config, "conversations.history", { channel: channelId, oldest: String(oldestS), limit: "50" }, HistorySchema);
  return history.messages.map((message) => ({
    user: message.user,
    ts: message.ts,
    files: (message.files ?? []).flatMap((file) => {
      const parsed = SlackFileSchema.safeParse(file);
      return parsed.success ? [parsed.data] : [];
    }),
  }));
}

/** Downloads a private file; Slack requires the bot token on `url_private_download`. */
export function downloadFile(config: SlackConfig, url: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `Bearer ${config.botToken}` } });
}

export async function postMessage(config: SlackConfig, channelId: string, text: string): Promise<void> {
  await call(config, "chat.postMessage", { channel: channelId, text }, OkSchema);
}

const UploadUrlSchema = z.object({ upload_url: z.url(), file_id: z.string() });

/** Uploads files and shares them in one message with `comment`. */
export async function uploadFiles(
  config: SlackConfig,
  channelId: string,
  files: OutgoingFile[],
  comment: string,
): Promise<void> {
  const uploaded: { id: string; title: string }[] = [];
  for (const file of files) {
    const slot = await call(config, "files.getUploadURLExternal", { filename: file.filename, length: String(file.bytes.length) }, UploadUrlSchema);
    const form = new FormData();
    form.append("file", new Blob([file.bytes], { type: file.contentType }), file.filename);
    const response = await fetch(slot.upload_url, { method: "POST", body: form });
    if (!response.ok) throw new Error(`Slack upload of ${file.filename} answered ${response.status}`);
    await response.body?.cancel();
    uploaded.push({ id: slot.file_id, title: file.filename });
  }
  await call(
    config,
    "files.completeUploadExternal",
    { files: JSON.stringify(uploaded), channel_id: channelId, initial_comment: comment },
    OkSchema,
  );
}

/** Answers through a slash command's `response_url` (valid 30 minutes, five uses). */
export async function respond(responseUrl: string, text: string, options: { ephemeral?: boolean; replace?: boolean } = {}): Promise<void> {
  const response = await fetch(responseUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ response_type: options.ephemeral === false ? "in_channel" : "ephemeral", replace_original: options.replace ?? true, text }),
  });
  if (!response.ok) throw new Error(`Slack response_url answered ${response.status}`);
  await response.body?.cancel();
}
