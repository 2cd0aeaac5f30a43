import { describe, expect, it } from "vitest";
import { hashApiKey } from "../accounts/api-keys";
import { BASE, createAccount, expectError, jsonInit, type TestAccount } from "../../test/helpers/api";
import { SELF } from "cloudflare:test";

type KeyJson = { id: string; name: string; mode: string; prefix: string; created_at: number; last_used_at: number | null; revoked_at: number | null; api_key?: string };

const withKey = (apiKey: string) => (path: string, init: RequestInit = {}) =>
  SELF.fetch(`${BASE}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${apiKey}` } });

async function newKey(account: TestAccount, body: unknown): Promise<KeyJson> {
  const response = await account.request("/v1/keys", jsonInit("POST", body));
  expect(response.status).toBe(201);
  return response.json<KeyJson>();
}

describe("API key management", () => {
  it("shows a new key once, lists prefix/name/created/last used, and never returns a key or its hash", async () => {
    const account = await createAccount();
    const created = await newKey(account, { name: "ci" });
    expect(created.api_key).toMatch(/^dbk_live_/);
    expect(created.api_key!.startsWith(created.prefix)).toBe(true);
    expect((await withKey(created.api_key!)("/v1/subjects")).status).toBe(200);
    const listing = await (await account.request("/v1/keys")).text();
    const keys = (JSON.parse(listing) as { items: KeyJson[] }).items;
    expect(keys.map((key) => key.name).sort()).toEqual(["ci", "first key"]);
    expect(keys.find((key) => key.id === created.id)!.last_used_at).toBeGreaterThan(0);
    for (const secret of [created.api_key!, account.apiKey]) {
      expect(listing).not.toContain(secret);
      expect(listing).not.toContain(await hashApiKey(secret));
    }
    expect(listing).not.toMatch(/[0-9a-f]{64}/);
    // A retried create with an Idempotency-Key makes a new key rather than storing this one for replay.
    const retry = () => account.request("/v1/keys", { ...jsonInit("POST", { name: "retry" }), headers: { "content-type": "application/json", "Idempotency-Key": '"k"' } });
    const [one, two] = [await (await retry()).json<KeyJson>(), await (await retry()).json<KeyJson>()];
    expect(two.id).not.toBe(one.id);
    expect(keys.every((key) => !("api_key" in key) && !("hash" in key))).toBe(true);
  });

  it("refuses a revoked key with 401 on the very next request", async () => {
    const account = await createAccount();
    const created = await newKey(account, { name: "to revoke" });
    const request = withKey(created.api_key!);
    expect((await request("/v1/subjects")).status).toBe(200);
    const revoked = await account.request(`/v1/keys/${created.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect((await revoked.json<KeyJson>()).revoked_at).toBeGreaterThan(0);
    await expectError(await request("/v1/subjects"), 401, "unauthorized");
    expect((await account.request("/v1/subjects")).status).toBe(200);
  });

  it("keeps keys to their account, and a test key cannot mint a live key", async () => {
    const owner = await createAccount();
    const stranger = await createAccount();
    const created = await newKey(owner, { name: "mine" });
    await expectError(await stranger.request(`/v1/keys/${created.id}`, { method: "DELETE" }), 404);
    expect((await withKey(created.api_key!)("/v1/subjects")).status).toBe(200);
    const tester = await createAccount("test");
    await expectError(await tester.request("/v1/keys", jsonInit("POST", { name: "x", mode: "live" })), 403);
    expect((await newKey(tester, { name: "y" })).mode).toBe("test");
  });
});
