/**
 * The API description checked by an independent validator (`@apidevtools/swagger-parser`,
 * OpenAPI 3.1 schema plus its semantic rules: path parameters declared and required,
 * unique operation ids, resolvable references), not by the library that generated it.
 * The Worker's route table is imported in Node with the workerd-only base class
 * stubbed: building the document touches no binding. (The import is by a runtime
 * path so the Node type check does not take in the Worker's sources, which are
 * typed against workerd's globals by tsconfig.worker.json.)
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

it("the OpenAPI document the Worker serves passes swagger-parser validation", async () => {
  const workerEntry = "../../functions/index.js";
  const { default: app } = (await import(/* @vite-ignore */ workerEntry)) as { default: { request(path: string): Promise<Response> } };
  const response = await app.request("/v1/openapi.json");
  expect(response.status).toBe(200);
  const document = await response.json();
  await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeTruthy();
});
