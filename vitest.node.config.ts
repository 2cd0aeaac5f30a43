import { defineConfig } from "vitest/config";

// Node tests: the shared contract, the GPU backend (tfjs on wasm/cpu) and end-to-end runs of real processes.
export default defineConfig({
  test: {
    include: ["shared/**/*.test.ts", "gpu-backend/**/*.test.ts", "test/node/**/*.test.ts", "test/e2e/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Browser and process tests poll for UI and job state; a loaded 2-core CI machine needs more than the 1 s default.
    expect: { poll: { timeout: 15_000 } },
  },
});
