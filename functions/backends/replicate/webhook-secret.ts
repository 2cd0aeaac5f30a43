/**
 * The webhook signing secret: `REPLICATE_WEBHOOK_SECRET` when the deployment sets
 * it, else asked of Replicate once (`GET /v1/webhooks/default/secret`) and kept for
 * the isolate's life, since it changes only when the account rotates it.
 */
import { replicateClient } from "./client.js";
import type { ReplicateConfig } from "./config.js";

const fetched = new Map<string, Promise<string>>();

/** The secret, or null when neither the secret nor a token to fetch it is configured. */
export async function webhookSecret(config: ReplicateConfig): Promise<string | null> {
  if (config.webhookSecret) return config.webhookSecret;
  const token = config.token;
  if (!token) return null;
  let secret = fetched.get(token);
  if (!secret) {
    secret = replicateClient({ ...config, token })
      .webhooks.default.secret.get()
      .then((answer) => answer.key);
    fetched.set(token, secret);
    // A failed fetch is not remembered: the next delivery asks again.
    secret.catch(() => fetched.delete(token));
  }
  return secret;
}
