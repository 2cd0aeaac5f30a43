import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Worker tests run inside workerd with real (local) R2 and Durable Objects.
// Secrets get fixed test values here (never real ones); storage URLs use the Worker-signed mode.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          SIGNED_URL_MODE: "worker",
          ADMIN_TOKEN: "test-admin-token",
          FILE_URL_SECRET: "test-file-url-secret",
          BACKEND_SIGNING_SECRET: "test-backend-signing-secret",
        },
      },
    }),
  ],
  test: { include: ["test/worker/**/*.test.ts"] },
});
