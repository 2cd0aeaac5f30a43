import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { routePatternRegExp } from "../../functions/errors";
import { BASE, createAccount, expectError } from "./helpers/api";

describe("error envelope", () => {
  it("answers an unknown route with 404", async () => {
    await expectError(await SELF.fetch(`${BASE}/nope`), 404, "not_found");
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const response = await SELF.fetch(`${BASE}/healthz`, { method: "DELETE" });
    expect(response.headers.get("allow")).toContain("GET");
    await expectError(response, 405, "method_not_allowed");
  });

  it("answers malformed JSON with 400, wrong media type with 415, an oversized body with 413", async () => {
    const account = await createAccount();
    const post = (headers: Record<string, string>, body: BodyInit) =>
      account.request("/v1/subjects", { method: "POST", headers, body });
    await expectError(await post({ "content-type": "application/json" }, "{not json"), 400);
    await expectError(await post({ "content-type": "text/plain" }, "name=x"), 415, "unsupported_media_type");
    await expectError(await post({ "content-type": "application/json" }, JSON.stringify({ name: "x".repeat(300_000) })), 413, "payload_too_large");
  });

  it("answers a missing admin secret with 503 naming it", async () => {
    const { default: app } = await import("../../functions/index");
    const { env } = await import("cloudflare:test");
    const response = await app.fetch(
      new Request(`${BASE}/admin/accounts`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
      { ...env, ADMIN_TOKEN: undefined },
    );
    const error = await expectError(response, 503, "missing_secret");
    expect(error.message).toContain("ADMIN_TOKEN");
  });
});

describe("route patterns", () => {
  it("match Hono paths with params, regex params and wildcards", () => {
    expect(routePatternRegExp("/v1/subjects/:id").test("/v1/subjects/sub_1")).toBe(true);
    expect(routePatternRegExp("/v1/subjects/:id").test("/v1/subjects/sub_1/x")).toBe(false);
    expect(routePatternRegExp("/files/:key{.+}").test("/files/a/b/c.png")).toBe(true);
    expect(routePatternRegExp("/v1/*").test("/v1/anything/at/all")).toBe(true);
  });
});
