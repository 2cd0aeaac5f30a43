/**
 * Starts the fake Replicate API once for the Worker test run and hands its
 * address to the pool config (`inject("replicateApiOrigin")`), which points the
 * Worker's `REPLICATE_API_BASE_URL` at it.
 */
import type { TestProject } from "vitest/node";
import { FakeReplicate } from "./replicate-api.js";

declare module "vitest" {
  export interface ProvidedContext {
    replicateApiOrigin: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fake = new FakeReplicate();
  project.provide("replicateApiOrigin", await fake.start());
  return () => fake.stop();
}
