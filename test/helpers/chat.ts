/** Test helpers for the bots: signing requests as Discord and Slack do, and reading what the fake platforms got. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { toHex } from "../../shared/index.js";
import type { RecordedCall } from "../fakes/chat-calls.js";
import { BASE, testEnv, type TestAccount } from "./api.js";

const testBindings = testEnv as typeof testEnv & { TEST_CHAT_FAKE_URL: string; TEST_DISCORD_PRIVATE_KEY_PKCS8: string };
export const FAKE_URL = testBindings.TEST_CHAT_FAKE_URL;

const nowS = () => Math.floor(Date.now() / 1000);
let sequence = 0;
/** A fresh id, so tests sharing the fakes never read each other's calls. */
export const uniqueId = (prefix: string) => `${prefix}${Date.now()}${sequence++}`;

async function discordPrivateKey(): Promise<CryptoKey> {
  const pkcs8 = Uint8Array.from(atob(testBindings.TEST_DISCORD_PRIVATE_KEY_PKCS8), (char) => char.charCodeAt(0));
  return crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
}

export async function signDiscord(body: string, timestamp = String(nowS()), key?: CryptoKey): Promise<Record<string, string>> {
  const signature = await crypto.subtle.sign("Ed25519", key ?? (await discordPrivateKey()), new TextEncoder().encode(timestamp + body));
  return { "x-signature-ed25519": toHex(signature), "x-signature-timestamp": timestamp };
}

export async function discordPost(interaction: unknown, headers?: Record<string, string>): Promise<Response> {
  const body = JSON.stringify(interaction);
  return SELF.fetch(`${BASE}/bots/discord/interactions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(headers ?? (await signDiscord(body))) },
    body,
  });
}

export async function signSlack(body: string, timestamp = String(nowS()), secret = testEnv.SLACK_SIGNING_SECRET!): Promise<Record<string, string>> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`v0:${timestamp}:${body}`));
  return { "x-slack-signature": `v0=${toHex(mac)}`, "x-slack-request-timestamp": timestamp };
}

export async function slackPost(path: "commands" | "events", body: string, headers?: Record<string, string>): Promise<Response> {
  const contentType = path === "commands" ? "application/x-www-form-urlencoded" : "application/json";
  return SELF.fetch(`${BASE}/bots/slack/${path}`, {
    method: "POST",
    headers: { "content-type": contentType, ...(headers ?? (await signSlack(body))) },
    body,
  });
}

/** A slash command as Slack posts it; its `response_url` points at the fake under `key`. */
export function slashCommand(fields: { team: string; channel: string; user: string; text: string; responseKey: string }): string {
  return new URLSearchParams({
    token: "deprecated-verification-token",
    team_id: fields.team,
    channel_id: fields.channel,
    user_id: fields.user,
    command: "/dreambooth",
    text: fields.text,
    response_url: `${FAKE_URL}/slack/response/${fields.responseKey}`,
    trigger_id: "1.2.3",
  }).toString();
}

export async function putFakeFile(name: string, bytes: Uint8Array, delayMs = 0): Promise<string> {
  const response = await fetch(`${FAKE_URL}/__files/${encodeURIComponent(name)}?delay_ms=${delayMs}`, { method: "PUT", body: bytes });
  expect(response.status).toBe(200);
  return name;
}

export async function setSlackHistory(channel: string, messages: unknown[]): Promise<void> {
  expect((await fetch(`${FAKE_URL}/__slack/history/${channel}`, { method: "PUT", body: JSON.stringify(messages) })).status).toBe(200);
}

export async function fakeCalls(key: string): Promise<RecordedCall[]> {
  const calls = await (await fetch(`${FAKE_URL}/__calls`)).json<RecordedCall[]>();
  return calls.filter((call) => call.key === key);
}

/** Waits until the fake has seen a call under `key` that `match` accepts. */
export async function waitForCall(key: string, match: (call: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
  const started = Date.now();
  for (;;) {
    const call = (await fakeCalls(key)).find(match);
    if (call) return call;
    if (Date.now() - started > timeoutMs) throw new Error(`no matching call under ${key}: ${JSON.stringify(await fakeCalls(key))}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const contentOf = (call: RecordedCall) => String((call.body as { content?: string; text?: string; initial_comment?: string }).content ?? "");

/** A link code for the account, made through the API. */
export async function linkCode(account: TestAccount): Promise<string> {
  const response = await account.request("/v1/bot-links", { method: "POST" });
  expect(response.status).toBe(201);
  return (await response.json<{ code: string }>()).code;
}

/** "Manage Server" and nothing else. */
export const MANAGE_GUILD = String(1 << 5);

/** A `/dreambooth <name>` interaction as Discord sends it. */
export function command(
  guildId: string | undefined,
  subcommand: string,
  options: { name: string; type: number; value: string | number }[] = [],
  extra: { token?: string; permissions?: string; attachments?: Record<string, unknown>; channelId?: string } = {},
) {
  return {
    type: 2,
    id: uniqueId("i"),
    application_id: "test-discord-app",
    token: extra.token ?? uniqueId("tok"),
    ...(guildId ? { guild_id: guildId, member: { user: { id: "u-alice" }, permissions: extra.permissions ?? "0" } } : { user: { id: "u-alice" } }),
    channel_id: extra.channelId ?? "c-general",
    data: {
      id: "cmd",
      name: "dreambooth",
      type: 1,
      options: [{ type: 1, name: subcommand, options }],
      resolved: { attachments: extra.attachments ?? {} },
    },
  };
}

export async function linkGuild(account: TestAccount, guildId: string): Promise<void> {
  const code = await linkCode(account);
  const response = await discordPost(command(guildId, "link", [{ name: "code", type: 3, value: code }], { permissions: MANAGE_GUILD }));
  expect(((await response.json()) as { data: { content: string } }).data.content).toContain("now linked");
}
