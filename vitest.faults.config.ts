import { defineConfig } from "vitest/config";

// The scripted fault run (`npm run test:faults`): real Worker and GPU backend processes killed, stopped and
// frozen on purpose. Minutes long, so apart from `npm test`; FAULT_DISPATCH=queue runs it with queue dispatch.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
