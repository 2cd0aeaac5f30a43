/**
 * The API description checked by an independent validator (`@apidevtools/swagger-parser`,
 * OpenAPI 3.1 schema plus its semantic rules: path parameters declared and required,
 * unique operation ids, resolvable references), not by the library that generated it.
 * The Worker's route table is imported in Node with the workerd-only base class
 * stubbed: building the document touches no binding.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

it("the OpenAPI document the Worker serves passes swagger-parser validation", async () => {
  const { default: app } = await import("../../functions/index.js");
  const response = await app.request("/v1/openapi.json");
  expect(response.status).toBe(200);
  const document = await response.json();
  await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeTruthy();
});
