/**
 * Issuing a key touches two objects: the key's own `ApiKeyDO` (hash → account, for
 * auth) and the account's key list (name, prefix, revocation, rate limit). The
 * lookup object is written first and keeps its first binding, so re-issuing a
 * known key (the dev seed) never moves it to another account.
 */
import { newId } from "../../shared/index.js";
import { accountStore } from "./account-do.js";
import { apiKeyStore } from "./api-key-do.js";
import { hashApiKey, newApiKey, parseApiKey, type KeyMode } from "./api-keys.js";
import type { KeyInfo } from "./key-registry.js";

export interface IssuedKey {
  account_id: string;
  api_key: string;
  key: KeyInfo;
}

export async function issueKey(
  env: Env,
  accountId: string,
  request: { mode: KeyMode; name: string; api_key?: string },
): Promise<IssuedKey> {
  const apiKey = request.api_key ?? newApiKey(request.mode);
  const mode = parseApiKey(apiKey)!;
  const hash = await hashApiKey(apiKey);
  const binding = await apiKeyStore(env, hash).register(accountId, mode);
  const key = await accountStore(env, binding.account_id).addKey({ id: newId("apiKey"), hash, name: request.name, mode, key: apiKey });
  return { account_id: binding.account_id, api_key: apiKey, key };
}

/**
 * Revokes in the account's list (effective at once) and drops the lookup object.
 * A test key reaches test keys only: a live key is not found (null), as in a listing.
 */
export async function revokeKey(env: Env, accountId: string, keyId: string, callerMode: KeyMode): Promise<KeyInfo | null> {
  const account = accountStore(env, accountId);
  const target = (await account.listKeys()).find((key) => key.id === keyId);
  if (!target || (callerMode === "test" && target.mode !== "test")) return null;
  const hash = await account.revokeKey(keyId);
  if (!hash) return null;
  await apiKeyStore(env, hash).revoke();
  return (await account.listKeys()).find((key) => key.id === keyId) ?? null;
}
