/**
 * The official `replicate` client, built per call from the Worker's config. It is
 * handed the Worker's own `fetch` (wrapped, because the client calls it unbound and
 * workerd refuses that with "Illegal invocation") and the API base URL, which tests
 * point at a local fake of Replicate's API.
 */
import Replicate from "replicate";
import type { ReplicateConfig } from "./config.js";

export function replicateClient(config: ReplicateConfig & { token: string }): Replicate {
  return new Replicate({
    auth: config.token,
    baseUrl: config.baseUrl,
    userAgent: "dreambooth-edge/0.1",
    fetch: (input, init) => fetch(input, init),
  });
}
