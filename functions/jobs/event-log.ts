/**
 * A job's append-only event log in its object's SQLite: every backend event as
 * received (with what the state machine made of it) and the Worker's own decisions
 * (dispatches, re-dispatches, timeouts, cancels). The unique (attempt, seq) key is
 * what makes applying backend events idempotent: a redelivered event is found here
 * before it can touch the record.
 */
import type { BackendEvent } from "../../shared/index.js";

export type LogEntry = {
  idx: number;
  source: "backend" | "worker";
  attempt: number;
  seq: number | null;
  type: string;
  outcome: string;
  /** The event or decision as JSON text, exactly as stored. */
  body: string;
  at: number;
};

export class EventLog {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (
      idx INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, attempt INTEGER NOT NULL,
      seq INTEGER, type TEXT NOT NULL, outcome TEXT NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL,
      UNIQUE (attempt, seq))`);
  }

  has(attempt: number, seq: number): boolean {
    return this.sql.exec("SELECT 1 FROM events WHERE attempt = ? AND seq = ?", attempt, seq).toArray().length > 0;
  }

  /** Highest backend `seq` recorded for `attempt`, -1 when none. */
  lastSeq(attempt: number): number {
    const row = this.sql
      .exec<{ last: number | null }>("SELECT MAX(seq) AS last FROM events WHERE attempt = ?", attempt)
      .one();
    return row.last ?? -1;
  }

  appendBackend(event: BackendEvent, outcome: string, at: number): void {
    this.sql.exec(
      "INSERT INTO events (source, attempt, seq, type, outcome, body, at) VALUES ('backend', ?, ?, ?, ?, ?, ?)",
      event.attempt,
      event.seq,
      event.type,
      outcome,
      JSON.stringify(event),
      at,
    );
  }

  appendWorker(attempt: number, type: string, body: unknown, at: number): void {
    this.sql.exec(
      "INSERT INTO events (source, attempt, seq, type, outcome, body, at) VALUES ('worker', ?, NULL, ?, 'applied', ?, ?)",
      attempt,
      type,
      JSON.stringify(body ?? null),
      at,
    );
  }

  count(type: string): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE type = ?", type).one().n;
  }

  list(): LogEntry[] {
    return this.sql.exec<LogEntry>("SELECT * FROM events ORDER BY idx").toArray();
  }
}
