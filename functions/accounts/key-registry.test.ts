import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PLANS } from "../billing/plans";
import { KeyRegistry, LAST_USED_RESOLUTION_MS } from "./key-registry";

const plan = PLANS.free;
const key = { id: "key_1", hash: "h1", name: "ci", mode: "live" as const, key: "dbk_live_abcdefghijklmnop" };

function inAccountObject(name: string, body: (sql: SqlStorage) => void) {
  return runInDurableObject(env.ACCOUNTS.get(env.ACCOUNTS.idFromName(name)), (_, state) => body(state.storage.sql));
}

describe("admission without storage round trips", () => {
  it("writes last_used_at at most once per resolution while the bucket still decides every request", async () => {
    await inAccountObject("key-registry-last-used", (sql) => {
      const registry = new KeyRegistry(sql);
      registry.add(key, 0);
      const t0 = 1_000_000;
      const decisions = Array.from({ length: plan.burst + 1 }, () => registry.admit(key.hash, plan, t0));
      expect(decisions.map((decision) => decision.kind === "decided" && decision.allowed)).toEqual([...Array(plan.burst).fill(true), false]);
      expect(registry.list()[0].last_used_at).toBe(t0);
      registry.admit(key.hash, plan, t0 + LAST_USED_RESOLUTION_MS - 1);
      expect(registry.list()[0].last_used_at).toBe(t0);
      registry.admit(key.hash, plan, t0 + LAST_USED_RESOLUTION_MS);
      expect(registry.list()[0].last_used_at).toBe(t0 + LAST_USED_RESOLUTION_MS);
    });
  });

  it("refuses a revoked key from the very next admission, though it was held in memory", async () => {
    await inAccountObject("key-registry-revoke", (sql) => {
      const registry = new KeyRegistry(sql);
      registry.add(key, 0);
      expect(registry.admit(key.hash, plan, 10)).toMatchObject({ kind: "decided", allowed: true });
      expect(registry.revoke(key.id, 20)).toBe(key.hash);
      expect(registry.admit(key.hash, plan, 30)).toEqual({ kind: "revoked" });
      // An object that starts afresh reads the same from the row.
      expect(new KeyRegistry(sql).admit(key.hash, plan, 40)).toEqual({ kind: "revoked" });
      expect(registry.admit("unknown", plan, 50)).toEqual({ kind: "revoked" });
    });
  });
});
