/**
 * The account's own list of its API keys: id, name, mode, the visible prefix
 * support can match on, when it was created and last used, whether it is revoked,
 * and its rate-limit bucket. The key itself is never stored and its hash never
 * leaves this object. `ApiKeyDO` answers "which account is this key?"; this table
 * answers "may it still call, and right now?", so a revoke here takes effect on
 * the very next request even if the key's own object were slow to learn of it.
 *
 * A request's admission touches no storage in the steady state: each key's bucket
 * lives in the object's memory (read from its row on first use), and `last_used_at`
 * is written at most once a minute per key. An object evicted between requests
 * comes back with the buckets as last written, so a restart can hand a key at most
 * one bucket's worth of extra requests; revocation always goes through the row and
 * drops the key from memory, so it still holds from the very next request.
 */
import type { KeyMode } from "./api-keys.js";
import { takeToken, type Bucket, type BucketDecision, type Plan } from "../billing/plans.js";

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

/** How stale `last_used_at` may be: a key's row is written at most once per this many ms while it is in use. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** What admission needs of a live key, kept in memory between requests. */
type HotKey = { mode: KeyMode; bucket: Bucket | null; lastUsedWritten: number | null };

/** Characters of the key shown in listings: `dbk_live_` plus four of the random part. */
const PREFIX_LENGTH = 13;

export class KeyRegistry {
  private readonly hot = new Map<string, HotKey>();

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
    if (row) this.hot.delete(row.hash);
    return row?.hash ?? null;
  }

  /** One request by this key: refused when revoked or unknown, else the token bucket decides. */
  admit(hash: string, plan: Plan, now: number): Admission {
    const key = this.hot.get(hash) ?? this.load(hash);
    if (!key) return { kind: "revoked" };
    const decision = takeToken(key.bucket, plan, now);
    key.bucket = decision.bucket;
    if (key.lastUsedWritten === null || now - key.lastUsedWritten >= LAST_USED_RESOLUTION_MS) {
      this.sql.exec(
        "UPDATE api_keys SET tokens = ?, refilled_at = ?, last_used_at = ? WHERE hash = ?",
        decision.bucket.tokens,
        decision.bucket.refilled_at,
        now,
        hash,
      );
      key.lastUsedWritten = now;
    }
    return { kind: "decided", mode: key.mode, ...decision };
  }

  /** A live key's row as its in-memory state; unknown and revoked keys are not remembered. */
  private load(hash: string): HotKey | undefined {
    const row = this.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", hash).toArray()[0];
    if (!row || row.revoked_at !== null) return undefined;
    const bucket = row.tokens === null || row.refilled_at === null ? null : { tokens: row.tokens, refilled_at: row.refilled_at };
    const key = { mode: row.mode, bucket, lastUsedWritten: row.last_used_at };
    this.hot.set(hash, key);
    return key;
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
