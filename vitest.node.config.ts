import { defineConfig } from "vitest/config";

// Node tests: the shared contract, the GPU backend (tfjs on wasm/cpu) and end-to-end runs of real processes.
export default defineConfig({
  test: {
    include: ["shared/**/*.test.ts", "gpu-backend/**/*.test.ts", "test/node/**/*.test.ts", "test/e2e/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
