import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { startFakeGpuBackend } from "./test/fakes/gpu-backend.js";

const BACKEND_SIGNING_SECRET = "test-backend-signing-secret";
// A local fake of the GPU service's intake, so the container backend's signed push is tested over real HTTP.
const fakeGpuBackend = await startFakeGpuBackend(BACKEND_SIGNING_SECRET);

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
          BACKEND_SIGNING_SECRET,
          GPU_BACKEND_URL: fakeGpuBackend.url,
          // Jobs that name no backend run on the fake one, its stages 20 ms apart, so a training takes well under a second.
          DEFAULT_BACKEND: "fake",
          FAKE_BACKEND_STEP_MS: "20",
        },
      },
    }),
  ],
  test: { include: ["test/worker/**/*.test.ts"] },
});
