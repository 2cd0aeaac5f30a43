/**
 * What a test key may not do, after Stripe's model: test keys act on test-mode
 * objects only, so anything that reveals or changes what live traffic uses — the
 * account's default webhook and its signing secret, its usage and credits, live
 * keys, a chat link (which acts as a live key) — needs a live key.
 */
import { ApiError } from "../errors.js";
import type { KeyMode } from "./api-keys.js";

export function requireLiveKey(mode: KeyMode, action: string): void {
  if (mode !== "live") throw new ApiError(403, "live_key_required", `A test key cannot ${action}; use a live key`);
}
