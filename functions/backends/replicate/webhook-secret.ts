/**
 * The webhook signing secret: `REPLICATE_WEBHOOK_SECRET` when the deployment sets
 * it, else asked of Replicate (`GET /v1/webhooks/default/secret`) and kept for the
 * isolate's life, since it changes only when the account rotates it. A failed fetch
 * is remembered too, for `RETRY_AFTER_FAILURE_MS`: otherwise every delivery — or
 * every forged request — would make the Worker call Replicate's API again.
 */
import { replicateClient } from "./client.js";
import type { ReplicateConfig } from "./config.js";

export const RETRY_AFTER_FAILURE_MS = 60_000;

type Fetched = { secret: Promise<string>; failedAt?: number };
const fetched = new Map<string, Fetched>();

/** The secret, or null when neither the secret nor a token to fetch it is configured. */
export async function webhookSecret(config: ReplicateConfig, nowMs: number = Date.now()): Promise<string | null> {
  if (config.webhookSecret) return config.webhookSecret;
  const token = config.token;
  if (!token) return null;
  const known = fetched.get(token);
  if (known && (known.failedAt === undefined || nowMs - known.failedAt < RETRY_AFTER_FAILURE_MS)) return known.secret;
  const fresh: Fetched = {
    secret: replicateClient({ ...config, token })
      .webhooks.default.secret.get()
      .then((answer) => answer.key),
  };
  fresh.secret.catch(() => {
    fresh.failedAt = nowMs;
  });
  fetched.set(token, fresh);
  return fresh.secret;
}
