import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashApiKey, newApiKey, parseApiKey } from "./accounts/api-keys";
import { BASE, createAccount, expectError, jsonInit, testEnv } from "../test/helpers/api";

describe("API keys", () => {
  it("look like dbk_live_/dbk_test_ with 160 random bits and hash to sha256 hex", async () => {
    const key = newApiKey("live");
    expect(key).toMatch(/^dbk_live_[0-9a-z]{32}$/);
    expect(parseApiKey(key)).toBe("live");
    expect(parseApiKey(newApiKey("test"))).toBe("test");
    expect(parseApiKey("dbk_live_short")).toBeNull();
    expect(newApiKey("live")).not.toBe(key);
    expect(await hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("are stored only as hashes: the key's object holds the account, not the key", async () => {
    const account = await createAccount("test");
    const stub = env.API_KEYS.get(env.API_KEYS.idFromName(await hashApiKey(account.apiKey)));
    const record = await stub.lookup();
    expect(record).toMatchObject({ account_id: account.accountId, mode: "test" });
    expect(JSON.stringify(record)).not.toContain(account.apiKey);
  });
});

describe("bearer auth", () => {
  it("rejects a missing, malformed, unknown or revoked key with 401 in the envelope", async () => {
    await expectError(await SELF.fetch(`${BASE}/v1/subjects`), 401, "unauthorized");
    for (const header of ["Bearer", "Basic abc", "Bearer dbk_live_nope", `Bearer ${newApiKey("live")}`]) {
      await expectError(await SELF.fetch(`${BASE}/v1/subjects`, { headers: { authorization: header } }), 401, "unauthorized");
    }
    const account = await createAccount();
    expect((await account.request("/v1/subjects")).status).toBe(200);
    const [key] = (await (await account.request("/v1/keys")).json<{ items: { id: string }[] }>()).items;
    expect((await account.request(`/v1/keys/${key.id}`, { method: "DELETE" })).status).toBe(200);
    await expectError(await account.request("/v1/subjects"), 401, "unauthorized");
  });
});

describe("admin accounts", () => {
  it("needs the admin token, and re-registering a key keeps its first account", async () => {
    await expectError(await SELF.fetch(`${BASE}/admin/accounts`, jsonInit("POST", {})), 401, "unauthorized");
    const init = jsonInit("POST", { api_key: newApiKey("test") });
    const headers = { ...init.headers, authorization: `Bearer ${testEnv.ADMIN_TOKEN}` };
    const first = await (await SELF.fetch(`${BASE}/admin/accounts`, { ...init, headers })).json<{ account_id: string }>();
    const second = await (await SELF.fetch(`${BASE}/admin/accounts`, { ...init, headers })).json<{ account_id: string }>();
    expect(second.account_id).toBe(first.account_id);
  });
});

describe("a status read's round trips", () => {
  it("asks the key's own object once; later requests are decided by the account alone, revocation included", async () => {
    const account = await createAccount();
    expect((await account.request("/v1/subjects")).status).toBe(200);
    // Take the key's lookup object away behind the Worker's back: a remembered key no longer needs it…
    const lookup = env.API_KEYS.get(env.API_KEYS.idFromName(await hashApiKey(account.apiKey)));
    await lookup.revoke();
    expect((await account.request("/v1/subjects")).status).toBe(200);
    // …while the account's key list still refuses a revoked key on the very next request.
    const keys = await (await account.request("/v1/keys")).json<{ items: { id: string }[] }>();
    expect((await account.request(`/v1/keys/${keys.items[0].id}`, { method: "DELETE" })).status).toBe(200);
    await expectError(await account.request("/v1/subjects"), 401, "unauthorized");
  });
});
