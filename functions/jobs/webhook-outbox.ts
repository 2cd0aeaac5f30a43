/**
 * The job's outgoing customer webhooks: one row per state change, kept until it
 * is delivered (a 2xx) or has failed for good after the retry schedule in
 * `webhooks.ts`. The payload is frozen when the change happens, so a retry sends
 * exactly what the first try did, under the same `webhook-id`. The rows are also
 * the delivery log the job's GET route shows.
 */
import { randomBase32 } from "../../shared/index.js";
import type { WebhookDelivery } from "./webhook-delivery.js";
import { webhookRetryDelay } from "./webhooks.js";


type Row = WebhookDelivery & { seq: number; payload: string };

export class WebhookOutbox {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS webhook_deliveries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL,
      state TEXT NOT NULL, attempts INTEGER NOT NULL, last_outcome TEXT, next_attempt_at INTEGER,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
  }

  enqueue(type: string, payload: string, now: number): void {
    this.sql.exec(
      "INSERT INTO webhook_deliveries (id, type, payload, state, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
      `msg_${randomBase32(24)}`,
      type,
      payload,
      now,
      now,
      now,
    );
  }

  due(now: number): { id: string; type: string; payload: string }[] {
    return this.sql
      .exec<Row>("SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY seq", now)
      .toArray()
      .map((row) => ({ id: row.id, type: row.type, payload: row.payload }));
  }

  /** Records one try; a failure is retried on the schedule, then marked failed for good. */
  record(id: string, delivered: boolean, outcome: string, now: number): WebhookDelivery["state"] {
    const attempts = this.sql.exec<{ attempts: number }>("SELECT attempts FROM webhook_deliveries WHERE id = ?", id).one().attempts + 1;
    const delay = delivered ? null : webhookRetryDelay(attempts);
    const state = delivered ? "delivered" : delay === null ? "failed" : "pending";
    this.sql.exec(
      "UPDATE webhook_deliveries SET state = ?, attempts = ?, last_outcome = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
      state,
      attempts,
      outcome,
      delay === null ? null : now + delay,
      now,
      id,
    );
    return state;
  }

  /** When the earliest pending delivery is due, or null when none is pending. */
  nextAttemptAt(): number | null {
    return this.sql
      .exec<{ at: number | null }>("SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'")
      .one().at;
  }

  list(): WebhookDelivery[] {
    return this.sql
      .exec<Row>("SELECT * FROM webhook_deliveries ORDER BY seq")
      .toArray()
      .map(({ seq: _seq, payload: _payload, ...delivery }) => delivery);
  }
}
