/**
 * `GET /docs`: the API reference as one self-contained page. A small renderer in
 * the page reads `/v1/openapi.json` from this Worker and lays out every operation
 * with its parameters, body, responses and schemas; it loads nothing from anywhere
 * else (the Content-Security-Policy forbids it), so the page works offline and
 * leaks no visitor to a CDN.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.js";
import { DOCS_PAGE } from "./docs-page.js";

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'";

const docsPage = createRoute({
  method: "get",
  path: "/",
  summary: "Rendered API reference (HTML)",
  responses: { 200: { description: "The page", content: { "text/html": { schema: z.string() } } } },
});

export const docs = createRouter().openapi(docsPage, (c) => {
  c.header("content-security-policy", CSP);
  return c.html(DOCS_PAGE, 200);
});
