/**
 * Starts the HTTP service around a job runner and stops it cleanly: on stop the
 * listener closes for new jobs while the running job checkpoints and reports,
 * which is what SIGTERM does in the container.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createApp, type HealthFacts } from "./app.js";
import { JobRunner, type RunnerOptions } from "../jobs/job-runner.js";

export interface ServiceOptions extends RunnerOptions {
  port: number;
  host: string;
  modelsLoaded(): string[];
}

export interface RunningService {
  url: string;
  runner: JobRunner;
  /** Refuses new jobs, lets the current one checkpoint and report, then closes the listener. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const runner = new JobRunner(options);
  const health: HealthFacts = { backend: options.backend, device: options.device, modelsLoaded: options.modelsLoaded };
  const app = createApp({ runner, secret: options.secret, health });
  const server = await new Promise<ServerType>((resolve) => {
    const listening: ServerType = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    runner,
    async stop() {
      await runner.shutdown();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
