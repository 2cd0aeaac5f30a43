/**
 * The account's own list of its API keys: id, name, mode, the visible prefix
 * support can match on, when it was created and last used, whether it is revoked,
 * and its rate-limit bucket. The key itself is never stored and its hash never
 * leaves this object. `ApiKeyDO` answers "which account is this key?"; this table
 * answers "may it still call, and right now?", so a revoke here takes effect on
 * the very next request even if the key's own object were slow to learn of it.
 */
import type { KeyMode } from "./api-keys.js";
import { takeToken, type BucketDecision, type Plan } from "../billing/plans.js";

export type KeyInfo = {
  id: string;
  name: string;
  mode: KeyMode;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
};

type KeyRow = KeyInfo & { hash: string; tokens: number | null; refilled_at: number | null };

export type Admission = { kind: "revoked" } | ({ kind: "decided"; mode: KeyMode } & BucketDecision);

/** Characters of the key shown in listings: `dbk_live_` plus four of the random part. */
const PREFIX_LENGTH = 13;

export class KeyRegistry {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, name TEXT NOT NULL, mode TEXT NOT NULL, prefix TEXT NOT NULL,
      created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER, tokens REAL, refilled_at INTEGER)`);
  }

  /** Records a key by hash; registering the same hash again keeps the first entry. */
  add(entry: { id: string; hash: string; name: string; mode: KeyMode; key: string }, now: number): KeyInfo {
    this.sql.exec(
      "INSERT OR IGNORE INTO api_keys (id, hash, name, mode, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      entry.id,
      entry.hash,
      entry.name,
      entry.mode,
      entry.key.slice(0, PREFIX_LENGTH),
      now,
    );
    return info(this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", entry.hash).one());
  }

  list(): KeyInfo[] {
    return this.sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at DESC, id").toArray().map(info);
  }

  /** Marks the key revoked and returns its hash so the caller can drop the lookup object too. */
  revoke(id: string, now: number): string | null {
    const row = this.sql
      .exec<{ hash: string }>("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING hash", now, id)
      .toArray()[0];
    return row?.hash ?? null;
  }

  /** One request by this key: refused when revoked or unknown, else the token bucket decides. */
  admit(hash: string, plan: Plan, now: number): Admission {
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", hash).toArray()[0];
    if (!row || row.revoked_at !== null) return { kind: "revoked" };
    const previous = row.tokens === null || row.refilled_at === null ? null : { tokens: row.tokens, refilled_at: row.refilled_at };
    const decision = takeToken(previous, plan, now);
    this.sql.exec(
      "UPDATE api_keys SET tokens = ?, refilled_at = ?, last_used_at = ? WHERE hash = ?",
      decision.bucket.tokens,
      decision.bucket.refilled_at,
      now,
      hash,
    );
    return { kind: "decided", mode: row.mode, ...decision };
  }
}

function info(row: KeyRow): KeyInfo {
  return {
    id: row.id,
    name: row.name,
    mode: row.mode,
    prefix: row.prefix,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}
