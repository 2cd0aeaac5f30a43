/**
 * Secrets come only from env bindings (`wrangler secret put` in production,
 * `.dev.vars` locally). They are typed optional on purpose: a deployment that
 * lacks one must answer the routes needing it with a 503 naming the secret, not
 * crash, so every read goes through `requireSecret`.
 */
import { ApiError } from "./errors.js";

export interface Secrets {
  BACKEND_SIGNING_SECRET?: string;
  GPU_BACKEND_URL?: string;
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  R2_ACCOUNT_ID?: string;
  ADMIN_TOKEN?: string;
  /** Key of the Worker-signed `/files/` URLs (SIGNED_URL_MODE = "worker"). */
  FILE_URL_SECRET?: string;
  REPLICATE_API_TOKEN?: string;
  REPLICATE_WEBHOOK_SECRET?: string;
  DISCORD_APPLICATION_ID?: string;
  DISCORD_PUBLIC_KEY?: string;
  DISCORD_BOT_TOKEN?: string;
  SLACK_SIGNING_SECRET?: string;
  SLACK_BOT_TOKEN?: string;
  /** API token of the Queues REST API, only where jobs are queued over HTTP (JOB_QUEUE_API_BASE) instead of the binding. */
  JOB_QUEUE_API_TOKEN?: string;
}

export type SecretName = keyof Secrets;

export function requireSecret(env: Secrets, name: SecretName): string {
  const value = env[name];
  if (!value) throw new ApiError(503, "missing_secret", `${name} is not configured on this deployment`);
  return value;
}
