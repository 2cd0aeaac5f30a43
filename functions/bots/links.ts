/**
 * Which account a Discord guild or Slack workspace acts for. An account owner asks
 * the API for a one-time code (`POST /v1/bot-links`) and an admin of the chat types
 * `/dreambooth link <code>` there. One SQLite-backed object per name — `code:<code>`
 * for a pending code, `discord:<guild>` / `slack:<team>` for a link — so a lookup is
 * one strongly consistent read and a code can be redeemed exactly once.
 */
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";

export const CHAT_PLATFORMS = ["discord", "slack"] as const;
export type ChatPlatform = (typeof CHAT_PLATFORMS)[number];

/** How long a link code may wait to be typed into the chat. */
export const LINK_CODE_TTL_MS = 15 * 60 * 1000;

/** Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L). */
const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
export const LinkCodeSchema = z.string().trim().toUpperCase().regex(/^[A-Z2-9]{8}$/, "a link code is 8 letters and digits");

export function newLinkCode(): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  return [...random].map((byte) => CODE_ALPHABET[byte % CODE_ALPHABET.length]).join("");
}

type EntryRow = { account_id: string; expires_at: number | null; created_at: number };

export class BotLinkDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS entry (
      one INTEGER PRIMARY KEY CHECK (one = 1), account_id TEXT NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL)`);
  }

  /** Stores a pending code for an account (on a `code:` object). */
  issue(accountId: string, expiresAt: number): void {
    this.sql.exec("INSERT OR REPLACE INTO entry (one, account_id, expires_at, created_at) VALUES (1, ?, ?, ?)", accountId, expiresAt, Date.now());
  }

  /** Consumes a code: the account it was issued for, or null if unknown, used or expired. */
  redeem(now: number): string | null {
    const row = this.row();
    this.sql.exec("DELETE FROM entry");
    return row && row.expires_at !== null && row.expires_at > now ? row.account_id : null;
  }

  /** Binds the guild/workspace this object is named after to an account, replacing any earlier link. */
  link(accountId: string): void {
    this.sql.exec("INSERT OR REPLACE INTO entry (one, account_id, expires_at, created_at) VALUES (1, ?, NULL, ?)", accountId, Date.now());
  }

  linkedAccount(): string | null {
    return this.row()?.account_id ?? null;
  }

  private row(): EntryRow | undefined {
    return this.sql.exec<EntryRow>("SELECT account_id, expires_at, created_at FROM entry").toArray()[0];
  }
}

function linkObject(env: Env, name: string): DurableObjectStub<BotLinkDO> {
  return env.BOT_LINKS.get(env.BOT_LINKS.idFromName(name));
}

export async function issueLinkCode(env: Env, accountId: string, now: number): Promise<{ code: string; expires_at: number }> {
  const code = newLinkCode();
  const expiresAt = now + LINK_CODE_TTL_MS;
  await linkObject(env, `code:${code}`).issue(accountId, expiresAt);
  return { code, expires_at: expiresAt };
}

/** Redeems `code` for the guild/workspace `teamId`; returns the linked account or null for a bad code. */
export async function redeemLinkCode(env: Env, platform: ChatPlatform, teamId: string, code: string): Promise<string | null> {
  const accountId = await linkObject(env, `code:${code}`).redeem(Date.now());
  if (accountId) await linkObject(env, `${platform}:${teamId}`).link(accountId);
  return accountId;
}

export function linkedAccount(env: Env, platform: ChatPlatform, teamId: string): Promise<string | null> {
  return linkObject(env, `${platform}:${teamId}`).linkedAccount();
}
