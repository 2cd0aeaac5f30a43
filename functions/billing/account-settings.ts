/**
 * Per-account settings that billing and webhooks read on every job: the plan, the
 * default `webhook_url`, and the `whsec_` secret the account's webhooks are signed
 * with (Standard Webhooks). The secret is made when the account is, so every account
 * can verify its webhooks from the first one.
 */
import { PLANS, type Plan, type PlanName } from "./plans.js";
import { newWebhookSecret } from "./webhook-signing.js";

export type Settings = {
  plan: PlanName;
  webhook_url: string | null;
  webhook_secret: string;
};

export class AccountSettings {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS settings (
      one INTEGER PRIMARY KEY CHECK (one = 1), plan TEXT NOT NULL, webhook_url TEXT, webhook_secret TEXT NOT NULL)`);
  }

  /** The settings, created with the standard plan on first use. */
  get(): Settings {
    const row = this.sql.exec<Settings>("SELECT plan, webhook_url, webhook_secret FROM settings").toArray()[0];
    if (row) return row;
    this.sql.exec("INSERT INTO settings (one, plan, webhook_secret) VALUES (1, 'standard', ?)", newWebhookSecret());
    return this.get();
  }

  plan(): Plan {
    return PLANS[this.get().plan];
  }

  update(changes: Partial<Pick<Settings, "plan" | "webhook_url">>): Settings {
    const current = this.get();
    this.sql.exec(
      "UPDATE settings SET plan = ?, webhook_url = ?",
      changes.plan ?? current.plan,
      changes.webhook_url === undefined ? current.webhook_url : changes.webhook_url,
    );
    return this.get();
  }
}
