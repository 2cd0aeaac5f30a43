/**
 * One Durable Object per API-key hash, holding which account the key belongs to.
 * Addressing the object by the hash makes lookup a single strongly consistent
 * read with no global index to scan or replicate: a key registered or revoked is
 * seen by the very next request, which KV's eventual consistency could not promise.
 */
import { DurableObject } from "cloudflare:workers";
import type { KeyMode } from "./api-keys.js";

export interface ApiKeyRecord {
  account_id: string;
  mode: KeyMode;
  created_at: number;
}

export class ApiKeyDO extends DurableObject<Env> {
  async lookup(): Promise<ApiKeyRecord | null> {
    return (await this.ctx.storage.get<ApiKeyRecord>("record")) ?? null;
  }

  /** Binds the key to an account once; a second call for another account keeps the first binding. */
  async register(accountId: string, mode: KeyMode): Promise<ApiKeyRecord> {
    const existing = await this.lookup();
    if (existing) return existing;
    const record: ApiKeyRecord = { account_id: accountId, mode, created_at: Date.now() };
    await this.ctx.storage.put("record", record);
    return record;
  }

  async revoke(): Promise<void> {
    await this.ctx.storage.delete("record");
  }
}

export function apiKeyStore(env: Env, keyHash: string): DurableObjectStub<ApiKeyDO> {
  return env.API_KEYS.get(env.API_KEYS.idFromName(keyHash));
}
