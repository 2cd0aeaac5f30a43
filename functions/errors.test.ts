import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { routePatternRegExp } from "./errors";
import { BASE, createAccount, expectError } from "../test/helpers/api";

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
    const { default: app } = await import("./index");
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

describe("odd input", () => {
  it("never yields a 5xx and always answers in the envelope", async () => {
    const account = await createAccount();
    const subject = await (
      await account.request("/v1/subjects", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"a","class_noun":"b"}' })
    ).json<{ id: string }>();
    const json = { "content-type": "application/json" };
    const cases: [string, RequestInit][] = [
      ["/v1/subjects", { method: "POST" }],
      ["/v1/subjects", { method: "POST", body: "{}" }],
      ["/v1/subjects", { method: "POST", headers: json, body: "null" }],
      ["/v1/subjects", { method: "POST", headers: json, body: "[1,2]" }],
      ["/v1/subjects", { method: "POST", headers: json, body: '{"name":1e999,"class_noun":{"$ne":1}}' }],
      ["/v1/subjects?limit=abc&cursor=-1", {}],
      [`/v1/subjects/${"x".repeat(500)}`, {}],
      ["/v1/subjects/%E0%A4%A", {}],
      [`/v1/subjects/${subject.id}/images/..%2F..%2Fescape`, { method: "PUT", headers: { "content-type": "image/png" }, body: "x" }],
      [`/v1/subjects/${subject.id}/images/a.png`, { method: "PUT", headers: { "content-type": "image/png" } }],
      [`/v1/subjects/${subject.id}/uploads`, { method: "POST", headers: json, body: '{"files":[]}' }],
      [`/v1/subjects/${subject.id}/uploads`, { method: "POST", headers: json, body: '{"files":[{"name":"a.gif","content_type":"image/gif"}]}' }],
      [`/v1/subjects/${subject.id}/finalize`, { method: "POST", headers: json, body: "{broken" }],
      ["/files/%ZZ?expires=1&sig=x", {}],
      ["/files/a?expires=99999999999999999999&sig=" + "0".repeat(64), {}],
    ];
    for (const [path, init] of cases) {
      const response = await account.request(path, init);
      expect(response.status, `${init.method ?? "GET"} ${path}`).toBeLessThan(500);
      if (response.status >= 400) await expectError(response, response.status);
      else await response.body?.cancel();
    }
  });
});
