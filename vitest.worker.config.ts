import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { FAKE_REPLICATE_TOKEN, FAKE_WEBHOOK_SECRET } from "./test/fakes/replicate-api";
import type {} from "./test/fakes/replicate-global-setup";

// Worker tests run inside workerd with real (local) R2 and Durable Objects.
// Secrets get fixed test values here (never real ones); storage URLs use the Worker-signed mode.
// Outside services are local fakes started by globalSetup; their addresses arrive through `inject`.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          SIGNED_URL_MODE: "worker",
          ADMIN_TOKEN: "test-admin-token",
          FILE_URL_SECRET: "test-file-url-secret",
          BACKEND_SIGNING_SECRET: "test-backend-signing-secret",
          REPLICATE_API_BASE_URL: `${inject("replicateApiOrigin")}/v1`,
          REPLICATE_API_TOKEN: FAKE_REPLICATE_TOKEN,
          REPLICATE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET,
          REPLICATE_DESTINATION_OWNER: "dbe-test",
          // Webhooks drive the Replicate tests; the polling test moves the poll timer forward itself.
          REPLICATE_POLL_INTERVAL_S: "3600",
        },
      },
    })),
  ],
  test: { include: ["test/worker/**/*.test.ts"], globalSetup: ["test/fakes/replicate-global-setup.ts"] },
});
