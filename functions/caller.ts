/**
 * Who a use case acts for. An API request acts for its key's account and mode; a
 * chat command for the account its workspace is linked to, as a live key would.
 * Routes and bots build a `Caller` and hand it down; nothing below them reads a
 * request.
 */
import type { Context } from "hono";
import type { KeyMode } from "./accounts/api-keys.js";
import type { Secrets } from "./secrets.js";
import type { AppEnv } from "./types.js";

export interface Caller {
  env: Env & Secrets;
  accountId: string;
  keyMode: KeyMode;
}

/** The account and key mode an API request acts for. */
export function callerOf(c: Context<AppEnv>): Caller {
  return { env: c.env, accountId: c.get("accountId"), keyMode: c.get("keyMode") };
}

/** The Worker's own origin, from which job records build their public URLs. */
export function originOf(url: string): string {
  return new URL(url).origin;
}
