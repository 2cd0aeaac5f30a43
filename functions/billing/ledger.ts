/**
 * An account's credits: the available balance, the reservations held for running
 * jobs, and an append-only ledger whose amounts always sum to the balance. A job's
 * price is reserved when it is created and leaves the balance then; its terminal
 * state settles the reservation (the credits stay spent) or releases it (they come
 * back). The reservation row's state is the exactly-once guard: only a `reserved`
 * row can move, so a terminal event delivered twice, late, or after a retry finds
 * nothing left to do. Runs inside the account's Durable Object, whose single thread
 * and `transactionSync` make check-then-write atomic, so racing creates can never
 * take the balance below zero.
 */
import { cursorSeq, page, type Page } from "../pagination.js";

export type LedgerEntryType = "grant" | "reserve" | "settle" | "release";

export type LedgerEntry = {
  seq: number;
  type: LedgerEntryType;
  job_id: string | null;
  amount: number;
  balance_after: number;
  note: string | null;
  created_at: number;
};

export type Reservation = {
  job_id: string;
  kind: string;
  amount: number;
  state: "reserved" | "settled" | "released";
  created_at: number;
  finished_at: number | null;
};

export type ReserveOutcome =
  | { ok: true; balance: number; reservation: Reservation }
  | { ok: false; reason: "insufficient_credits"; balance: number; price: number }
  | { ok: false; reason: "concurrency_limit"; running: number; limit: number };

export class Ledger {
  constructor(private readonly storage: DurableObjectStorage) {
    storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS credits (one INTEGER PRIMARY KEY CHECK (one = 1), balance INTEGER NOT NULL);
      INSERT OR IGNORE INTO credits (one, balance) VALUES (1, 0);
      CREATE TABLE IF NOT EXISTS reservations (
        job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, amount INTEGER NOT NULL, state TEXT NOT NULL,
        created_at INTEGER NOT NULL, finished_at INTEGER);
      CREATE TABLE IF NOT EXISTS ledger (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, job_id TEXT, amount INTEGER NOT NULL,
        balance_after INTEGER NOT NULL, note TEXT, created_at INTEGER NOT NULL);
    `);
  }

  balance(): number {
    return this.storage.sql.exec<{ balance: number }>("SELECT balance FROM credits").one().balance;
  }

  grant(amount: number, note: string | null, now: number): number {
    return this.storage.transactionSync(() => this.append("grant", null, amount, note, now));
  }

  /**
   * Holds `price` for the job, unless the balance cannot cover it or the account
   * already runs its plan's share of jobs. A second call for the same job returns
   * the first reservation, so a retried create is never charged twice.
   */
  reserve(job: { id: string; kind: string }, price: number, concurrentJobs: number, now: number): ReserveOutcome {
    const existing = this.reservation(job.id);
    if (existing) return { ok: true, balance: this.balance(), reservation: existing };
    const running = this.storage.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations WHERE state = 'reserved'")
      .one().n;
    if (running >= concurrentJobs) return { ok: false, reason: "concurrency_limit", running, limit: concurrentJobs };
    const balance = this.balance();
    if (price > balance) return { ok: false, reason: "insufficient_credits", balance, price };
    return this.storage.transactionSync(() => {
      this.storage.sql.exec(
        "INSERT INTO reservations (job_id, kind, amount, state, created_at) VALUES (?, ?, ?, 'reserved', ?)",
        job.id,
        job.kind,
        price,
        now,
      );
      const after = this.append("reserve", job.id, -price, null, now);
      return { ok: true as const, balance: after, reservation: this.reservation(job.id)! };
    });
  }

  /** Settles (keeps the credits) or releases (returns them) the job's reservation, once. */
  finish(jobId: string, outcome: "settle" | "release", now: number): Reservation | null {
    return this.storage.transactionSync(() => {
      const state = outcome === "settle" ? "settled" : "released";
      const moved = this.storage.sql
        .exec<{ amount: number }>(
          "UPDATE reservations SET state = ?, finished_at = ? WHERE job_id = ? AND state = 'reserved' RETURNING amount",
          state,
          now,
          jobId,
        )
        .toArray()[0];
      if (moved) this.append(outcome, jobId, outcome === "release" ? moved.amount : 0, null, now);
      return this.reservation(jobId);
    });
  }

  activeReservations(): Reservation[] {
    return this.storage.sql
      .exec<Reservation>("SELECT * FROM reservations WHERE state = 'reserved' ORDER BY created_at")
      .toArray();
  }

  reservation(jobId: string): Reservation | null {
    return this.storage.sql.exec<Reservation>("SELECT * FROM reservations WHERE job_id = ?", jobId).toArray()[0] ?? null;
  }

  /** Newest first; the cursor is the `seq` of the last entry served. */
  entries(limit: number, cursor: string | undefined): Page<LedgerEntry> {
    const rows = this.storage.sql
      .exec<LedgerEntry>("SELECT * FROM ledger WHERE seq < ? ORDER BY seq DESC LIMIT ?", cursorSeq(cursor), limit + 1)
      .toArray();
    return page(rows, limit, (entry) => entry);
  }

  private append(type: LedgerEntryType, jobId: string | null, amount: number, note: string | null, now: number): number {
    const after = this.balance() + amount;
    this.storage.sql.exec("UPDATE credits SET balance = ?", after);
    this.storage.sql.exec(
      "INSERT INTO ledger (type, job_id, amount, balance_after, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      type,
      jobId,
      amount,
      after,
      note,
      now,
    );
    return after;
  }
}
