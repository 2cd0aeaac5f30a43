/**
 * Local stand-ins for the Discord and Slack HTTP APIs on 127.0.0.1, for the bot
 * tests. They follow the documented endpoints the bot uses and check what the real
 * ones check (the bot token on bot calls, multipart `payload_json` + `files[n]`
 * whose `attachments` match the files), and record every call for the tests:
 *
 * - Discord (`/discord/api`): `PATCH /webhooks/:app/:token/messages/@original`,
 *   `POST /webhooks/:app/:token` (follow-up), `POST /channels/:id/messages` (needs `Authorization: Bot <token>`); attachment
 *   downloads from `/discord/cdn/:name` (a test uploads them first).
 * - Slack (`/slack/api`): `conversations.history`, `chat.postMessage`,
 *   `files.getUploadURLExternal`, `files.completeUploadExternal` (bearer bot token),
 *   the upload URL it hands out, private file downloads at `/slack/files/:name`,
 *   and `response_url`s at `/slack/response/:key`.
 * - Test controls: `PUT /__files/:name?delay_ms=` stores a downloadable file,
 *   `PUT /__slack/history/:channel` sets a channel's messages, `PUT /__slack/fail-once/:channel`
 *   makes the next `chat.postMessage` there fail, `GET /__calls` lists calls.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { RecordedCall, RecordedFile } from "./chat-calls.js";

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses a multipart body with the platform's own parser semantics (WHATWG FormData). */
async function parseMultipart(request: IncomingMessage, body: Buffer) {
  const form = await new Request("http://fake/", {
    method: "POST",
    headers: { "content-type": request.headers["content-type"] ?? "" },
    body: new Uint8Array(body),
  }).formData();
  const fields: Record<string, string> = {};
  const files: RecordedFile[] = [];
  const entries: [string, FormDataEntryValue][] = [];
  form.forEach((value, field) => entries.push([field, value]));
  for (const [field, value] of entries) {
    if (typeof value === "string") fields[field] = value;
    else {
      const bytes = Buffer.from(await value.arrayBuffer());
      files.push({ field, filename: value.name, content_type: value.type, size: bytes.length, head: bytes.subarray(0, 8).toString("hex") });
    }
  }
  return { fields, files };
}

export async function startFakeChatPlatforms(tokens: { discordBotToken: string; slackBotToken: string }) {
  const calls: RecordedCall[] = [];
  const files = new Map<string, { bytes: Buffer; delayMs: number }>();
  const histories = new Map<string, unknown[]>();
  const uploads = new Map<string, RecordedFile[]>();
  const failOnce = new Set<string>();
  let nextFileId = 1;
  let base = "";

  const server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    const body = await readBody(request);
    const url = new URL(request.url ?? "/", "http://fake");
    const path = url.pathname;
    const record = (platform: RecordedCall["platform"], kind: string, key: string, parsed: unknown, recordedFiles: RecordedFile[] = []) =>
      calls.push({ platform, kind, key, body: parsed, files: recordedFiles, at: Date.now() });
    const contentType = request.headers["content-type"] ?? "";

    // Test controls.
    if (path.startsWith("/__files/") && request.method === "PUT") {
      files.set(decodeURIComponent(path.slice("/__files/".length)), { bytes: body, delayMs: Number(url.searchParams.get("delay_ms") ?? 0) });
      return reply(200, { ok: true });
    }
    if (path.startsWith("/__slack/history/") && request.method === "PUT") {
      histories.set(path.slice("/__slack/history/".length), JSON.parse(body.toString("utf8")));
      return reply(200, { ok: true });
    }
    if (path.startsWith("/__slack/fail-once/") && request.method === "PUT") {
      failOnce.add(path.slice("/__slack/fail-once/".length));
      return reply(200, { ok: true });
    }
    if (path === "/__calls") return reply(200, calls);

    // Discord.
    const discordEdit = /^\/discord\/api\/webhooks\/([^/]+)\/([^/]+)\/messages\/@original$/.exec(path);
    const discordChannel = /^\/discord\/api\/channels\/([^/]+)\/messages$/.exec(path);
    const discordFollowUp = /^\/discord\/api\/webhooks\/([^/]+)\/([^/]+)$/.exec(path);
    if (discordEdit || discordChannel || discordFollowUp) {
      if (discordChannel && request.headers.authorization !== `Bot ${tokens.discordBotToken}`) return reply(401, { message: "401: Unauthorized", code: 0 });
      if ((discordEdit && request.method !== "PATCH") || (!discordEdit && request.method !== "POST")) return reply(405, { message: "405: Method Not Allowed" });
      let payload: unknown;
      let sent: RecordedFile[] = [];
      if (contentType.startsWith("multipart/form-data")) {
        const form = await parseMultipart(request, body);
        payload = JSON.parse(form.fields.payload_json ?? "null");
        sent = form.files;
        const attachments = (payload as { attachments?: { id: number; filename: string }[] } | null)?.attachments ?? [];
        const matches = sent.every((file) => attachments.some((entry) => `files[${entry.id}]` === file.field && entry.filename === file.filename));
        if (!payload || !matches) return reply(400, { message: "Invalid Form Body", code: 50035 });
      } else if (contentType.startsWith("application/json")) {
        payload = JSON.parse(body.toString("utf8"));
      } else return reply(400, { message: "Cannot send an empty message", code: 50006 });
      if (discordEdit) record("discord", "edit_original", discordEdit[2], payload, sent);
      else if (discordFollowUp) record("discord", "followup", discordFollowUp[2], payload, sent);
      else record("discord", "channel_message", discordChannel![1], payload, sent);
      return reply(200, { id: String(calls.length), ...(payload as object) });
    }
    if (path.startsWith("/discord/cdn/") || path.startsWith("/slack/files/")) {
      const isSlack = path.startsWith("/slack/");
      if (isSlack && request.headers.authorization !== `Bearer ${tokens.slackBotToken}`) return reply(403, { ok: false });
      const file = files.get(decodeURIComponent(path.split("/").pop()!));
      if (!file) return reply(404, { message: "Not Found" });
      await new Promise((resolve) => setTimeout(resolve, file.delayMs));
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(file.bytes.length) });
      return response.end(file.bytes);
    }

    // Slack.
    if (path.startsWith("/slack/response/")) {
      record("slack", "response_url", path.slice("/slack/response/".length), JSON.parse(body.toString("utf8")));
      return reply(200, { ok: true });
    }
    if (path.startsWith("/slack/upload/")) {
      const form = await parseMultipart(request, body);
      uploads.set(path.slice("/slack/upload/".length), form.files);
      return reply(200, { ok: true });
    }
    const slackMethod = /^\/slack\/api\/([\w.]+)$/.exec(path)?.[1];
    if (slackMethod) {
      if (request.headers.authorization !== `Bearer ${tokens.slackBotToken}`) return reply(200, { ok: false, error: "not_authed" });
      const params = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
      switch (slackMethod) {
        case "conversations.history":
          return reply(200, { ok: true, messages: histories.get(params.channel) ?? [], has_more: false });
        case "chat.postMessage":
          if (failOnce.delete(params.channel)) return reply(200, { ok: false, error: "ratelimited" });
          record("slack", "chat.postMessage", params.channel, params);
          return reply(200, { ok: true, channel: params.channel, ts: `${Date.now() / 1000}` });
        case "files.getUploadURLExternal": {
          if (!params.filename || !/^\d+$/.test(params.length ?? "")) return reply(200, { ok: false, error: "invalid_arguments" });
          const fileId = `F${nextFileId++}`;
          return reply(200, { ok: true, upload_url: `${base}/slack/upload/${fileId}`, file_id: fileId });
        }
        case "files.completeUploadExternal": {
          const listed = JSON.parse(params.files ?? "[]") as { id: string; title?: string }[];
          const uploaded = listed.map((file) => uploads.get(file.id));
          if (listed.length === 0 || uploaded.some((file) => !file)) return reply(200, { ok: false, error: "file_not_found" });
          record("slack", "files.completeUploadExternal", params.channel_id, params, uploaded.flatMap((file) => file!));
          return reply(200, { ok: true, files: listed });
        }
        default:
          return reply(200, { ok: false, error: "unknown_method" });
      }
    }
    reply(404, { message: "404: Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("fake chat platforms did not bind");
  base = `http://127.0.0.1:${address.port}`;
  return { url: base, server };
}
