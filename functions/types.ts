/**
 * The Hono environment every router shares: the generated `Env` bindings plus the
 * per-request variables the middleware sets. One place, so a handler's `c.var`
 * and `c.env` are typed the same everywhere.
 */
import type { KeyMode } from "./accounts/api-keys.js";
import type { Secrets } from "./secrets.js";

export type AppEnv = {
  Bindings: Env & Secrets;
  Variables: {
    /** The account the Bearer key belongs to; set by `requireApiKey`. */
    accountId: string;
    /** Whether the request used a live or a test key. */
    keyMode: KeyMode;
    /** SHA-256 of the Bearer key: names it to the account's rate limiter and key list. */
    keyHash: string;
  };
};
