/**
 * Which account a key belongs to, remembered by this isolate. A key's binding to
 * its account never changes (`ApiKeyDO.register` keeps the first), so once read it
 * can be reused; what can change — revocation — is decided by the account's own
 * key list on every request (`AccountDO.admit`, the rate limiter's round trip). So
 * a status read costs one account round trip for key and rate limit, then the job
 * read, instead of three object calls. Bounded, oldest entry out first.
 */
import type { ApiKeyRecord } from "./api-key-do.js";

const CAPACITY = 10_000;
const bindings = new Map<string, Pick<ApiKeyRecord, "account_id" | "mode">>();

export function cachedKey(keyHash: string): Pick<ApiKeyRecord, "account_id" | "mode"> | undefined {
  return bindings.get(keyHash);
}

export function rememberKey(keyHash: string, record: Pick<ApiKeyRecord, "account_id" | "mode">): void {
  bindings.set(keyHash, { account_id: record.account_id, mode: record.mode });
  if (bindings.size > CAPACITY) bindings.delete(bindings.keys().next().value!);
}
