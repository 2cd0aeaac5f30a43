import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import app from "../index";
import { BASE } from "../../test/helpers/api";

/** Hono's `/a/:id{regex}` as OpenAPI's `/a/{id}`. */
const toOpenApiPath = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

it("serves an OpenAPI 3.1 document, without a key, that lists every route the Worker answers", async () => {
  const response = await SELF.fetch(`${BASE}/v1/openapi.json`);
  expect(response.status).toBe(200);
  const document = await response.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
  expect(document.openapi).toBe("3.1.0");
  const routes = app.routes
    .filter((route) => route.method !== "ALL" && route.path !== "/v1/openapi.json")
    .map((route) => `${route.method.toLowerCase()} ${toOpenApiPath(route.path)}`);
  const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method} ${path}`),
  );
  const undocumented = routes.filter((route) => !documented.includes(route));
  expect(undocumented).toEqual([]);
  expect(documented).toEqual(expect.arrayContaining(["post /v1/subjects", "post /v1/subjects/{id}/finalize", "get /healthz"]));
});

it("writes every zod regex as a bare ECMAScript pattern (no /flags leaking into it)", async () => {
  const text = await (await SELF.fetch(`${BASE}/v1/openapi.json`)).text();
  const patterns = [...text.matchAll(/"pattern":"((?:[^"\\]|\\.)*)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string);
  expect(patterns.length).toBeGreaterThan(0);
  for (const pattern of patterns) {
    expect(pattern, pattern).not.toMatch(/\$\/[a-z]*$/);
    expect(() => new RegExp(pattern)).not.toThrow();
  }
});
