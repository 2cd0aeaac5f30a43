import { describe, expect, it } from "vitest";
import { createAccount, expectError, jsonInit, withNewKey } from "../../test/helpers/api";

describe("a test key cannot reach live settings, secrets or keys", () => {
  it("reads the account without its webhook secret and cannot change the webhook (403)", async () => {
    const live = await createAccount();
    const test = await withNewKey(live, "test");
    const seenByLive = await (await live.request("/v1/account")).json<Record<string, unknown>>();
    expect(seenByLive.webhook_secret).toMatch(/^whsec_/);
    const seenByTest = await (await test.request("/v1/account")).json<Record<string, unknown>>();
    expect(seenByTest).not.toHaveProperty("webhook_secret");
    expect(JSON.stringify(seenByTest)).not.toContain("whsec_");
    await expectError(await test.request("/v1/account", jsonInit("PATCH", { webhook_url: "https://example.com/hook" })), 403, "live_key_required");
    expect((await (await live.request("/v1/account")).json<{ webhook_url: string | null }>()).webhook_url).toBeNull();
  });

  it("lists and revokes test keys only: a live key is not found and keeps working", async () => {
    const live = await createAccount();
    const test = await withNewKey(live, "test");
    const keys = await (await live.request("/v1/keys")).json<{ items: { id: string; mode: string }[] }>();
    const liveKey = keys.items.find((key) => key.mode === "live")!;
    const visible = await (await test.request("/v1/keys")).json<{ items: { mode: string }[] }>();
    expect(visible.items.map((key) => key.mode)).toEqual(["test"]);
    await expectError(await test.request(`/v1/keys/${liveKey.id}`, { method: "DELETE" }), 404);
    expect((await live.request("/v1/subjects")).status).toBe(200);
    await expectError(await test.request("/v1/keys", jsonInit("POST", { name: "x", mode: "live" })), 403);
    const otherTest = await withNewKey(live, "test");
    const testKeys = await (await test.request("/v1/keys")).json<{ items: { id: string; prefix: string }[] }>();
    const target = testKeys.items.find((key) => otherTest.apiKey.startsWith(key.prefix))!;
    expect((await test.request(`/v1/keys/${target.id}`, { method: "DELETE" })).status).toBe(200);
    await expectError(await otherTest.request("/v1/subjects"), 401);
  });

  it("cannot read credits or link a chat (both act on live data)", async () => {
    const test = await withNewKey(await createAccount(), "test");
    await expectError(await test.request("/v1/usage"), 403, "live_key_required");
    await expectError(await test.request("/v1/bot-links", { method: "POST" }), 403, "live_key_required");
  });
});
