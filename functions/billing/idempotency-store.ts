/**
 * The account's remembered `Idempotency-Key`s (IETF httpapi idempotency-key draft):
 * each key holds the fingerprint of the request that first used it and, once that
 * request finished, its response. Keys are scoped to the account (they live in its
 * object) and forgotten after 24 hours. A key whose request never finished (the
 * Worker died mid-request) is reclaimed after a few minutes rather than locked forever.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const IN_FLIGHT_RECLAIM_MS = 5 * 60 * 1000;

export interface StoredResponse {
  status: number;
  body: string;
  content_type: string | null;
}

export type IdempotencyBegin =
  | { kind: "new" }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "mismatch" }
  | { kind: "in_flight" };

type Row = { fingerprint: string; state: "in_flight" | "done"; status: number | null; body: string | null; content_type: string | null; created_at: number };

export class IdempotencyStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state TEXT NOT NULL, status INTEGER, body TEXT,
      content_type TEXT, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_at);`);
  }

  begin(key: string, fingerprint: string, now: number): IdempotencyBegin {
    this.sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - IDEMPOTENCY_TTL_MS);
    this.sql.exec(
      "DELETE FROM idempotency WHERE key = ? AND state = 'in_flight' AND created_at < ?",
      key,
      now - IN_FLIGHT_RECLAIM_MS,
    );
    const row = this.sql.exec<Row>("SELECT * FROM idempotency WHERE key = ?", key).toArray()[0];
    if (!row) {
      this.sql.exec("INSERT INTO idempotency (key, fingerprint, state, created_at) VALUES (?, ?, 'in_flight', ?)", key, fingerprint, now);
      return { kind: "new" };
    }
    if (row.fingerprint !== fingerprint) return { kind: "mismatch" };
    if (row.state === "in_flight") return { kind: "in_flight" };
    return { kind: "replay", response: { status: row.status!, body: row.body!, content_type: row.content_type } };
  }

  complete(key: string, response: StoredResponse): void {
    this.sql.exec(
      "UPDATE idempotency SET state = 'done', status = ?, body = ?, content_type = ? WHERE key = ?",
      response.status,
      response.body,
      response.content_type,
      key,
    );
  }

  /** Forgets a key whose request should be retryable (a 5xx, a transient refusal). */
  abandon(key: string): void {
    this.sql.exec("DELETE FROM idempotency WHERE key = ? AND state = 'in_flight'", key);
  }
}
