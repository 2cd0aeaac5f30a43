import workerConfig from "./vitest.worker.config.js";

// `npm run bench:billing`: the worker test runtime (real local Durable Objects), running only the benchmarks.
export default {
  ...workerConfig,
  test: { ...workerConfig.test, include: ["test/bench/**/*.bench.test.ts"], testTimeout: 300_000 },
};
