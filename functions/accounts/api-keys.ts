/**
 * API keys: `dbk_live_…` / `dbk_test_…` followed by 32 Crockford-base32 characters
 * (160 random bits, above the 128 a bearer secret needs). Only the SHA-256 of a key
 * is ever stored: a leaked store then grants nothing, and a fast hash is enough
 * because the key itself has full entropy (no dictionary to attack, unlike passwords).
 */
import { randomBase32, toHex } from "../../shared/index.js";

export const KEY_MODES = ["live", "test"] as const;
export type KeyMode = (typeof KEY_MODES)[number];

const KEY_PATTERN = /^dbk_(live|test)_[0-9a-hjkmnp-tv-z]{32}$/;

export function newApiKey(mode: KeyMode): string {
  return `dbk_${mode}_${randomBase32(32)}`;
}

/** The key's mode, or null when the string cannot be one of our keys. */
export function parseApiKey(key: string): KeyMode | null {
  const match = KEY_PATTERN.exec(key);
  return match ? (match[1] as KeyMode) : null;
}

export async function hashApiKey(key: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
}
