import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { BASE } from "../../test/helpers/api";

type Operation = { parameters?: { $ref?: string }[]; responses: Record<string, { headers?: Record<string, unknown> }>; security?: unknown[] };

it("documents bearer auth, idempotency and rate-limit headers, and the billing answers", async () => {
  const document = await (await SELF.fetch(`${BASE}/v1/openapi.json`)).json<{
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, { scheme: string }>; parameters: Record<string, { name: string }>; headers: Record<string, unknown>; schemas: Record<string, unknown> };
  }>();
  expect(document.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
  expect(document.components.parameters.IdempotencyKey.name).toBe("Idempotency-Key");
  expect(Object.keys(document.components.headers)).toEqual(
    expect.arrayContaining(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "Retry-After"]),
  );
  const create = document.paths["/v1/generations"].post;
  expect(create.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
  expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["202", "400", "401", "402", "409", "422", "429"]));
  expect(Object.keys(create.responses["429"].headers!)).toContain("Retry-After");
  expect(Object.keys(create.responses["202"].headers!)).toContain("RateLimit-Remaining");
  expect(document.paths["/v1/usage"].get.security).toEqual([{ apiKey: [] }]);
  expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(["Usage", "ApiKey", "LedgerEntry", "WebhookDelivery", "Error"]));
});

it("serves a rendered API page at /docs that loads nothing from elsewhere", async () => {
  const response = await SELF.fetch(`${BASE}/docs`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/html");
  expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
  const html = await response.text();
  expect(html).toContain('fetch("/v1/openapi.json")');
  expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  expect(html).not.toMatch(/@import|url\(/);
});
