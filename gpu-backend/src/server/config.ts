/**
 * The service's configuration, read once from the environment and validated, so
 * a missing secret stops the process at start with a message naming it instead
 * of failing the first job.
 */
import { z } from "zod";
import { TENSOR_BACKENDS } from "../tensor/backend.js";

export const ServiceConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  /** Loopback by default: the backend trusts nothing but signed requests, yet need not listen publicly. */
  HOST: z.string().min(1).default("127.0.0.1"),
  BACKEND_SIGNING_SECRET: z.string().min(16, "BACKEND_SIGNING_SECRET must be set (at least 16 characters)"),
  /** Base models (diffusers layout, one folder per base_model id) and scratch space. */
  DATA_DIR: z.string().min(1).default(".data/gpu-backend"),
  MODELS_DIR: z.string().min(1).optional(),
  /** Loaded at start, so the first job of the usual base model pays no load time (the Worker's DEFAULT_BASE_MODEL). */
  PRELOAD_MODEL: z.string().min(1).default("tiny-emoji"),
  /** Unset: the first of tensorflow, wasm, cpu that starts (see tensor/backend.ts). */
  TFJS_BACKEND: z.enum(TENSOR_BACKENDS).optional(),
  /** Queue-pull mode (all three set): pull jobs from this Cloudflare Queue in addition to accepting pushes. */
  QUEUE_PULL_ACCOUNT_ID: z.string().min(1).optional(),
  QUEUE_PULL_QUEUE_ID: z.string().min(1).optional(),
  QUEUE_PULL_API_TOKEN: z.string().min(1).optional(),
  QUEUE_PULL_API_BASE: z.url().default("https://api.cloudflare.com/client/v4"),
  /** Names this host in the job's log (claims); unset: hostname and process id, so a restarted process is a new host. */
  QUEUE_PULL_HOST_ID: z.string().min(1).max(200).optional(),
  /** Lease of a pulled message: it only has to cover pull → claim, after which the message is acked. */
  QUEUE_PULL_VISIBILITY_S: z.coerce.number().int().min(1).max(43_200).default(60),
  /** Wait between pulls of an empty queue. */
  QUEUE_PULL_IDLE_MS: z.coerce.number().int().min(10).default(5_000),
});
export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;

export function readServiceConfig(env: NodeJS.ProcessEnv): ServiceConfig {
  const parsed = ServiceConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid gpu-backend configuration: ${problems}`);
  }
  return parsed.data;
}

/** The queue-pull settings when queue-pull mode is configured. */
export function queuePullSettings(config: ServiceConfig, defaultHostId: string) {
  const { QUEUE_PULL_ACCOUNT_ID: accountId, QUEUE_PULL_QUEUE_ID: queueId, QUEUE_PULL_API_TOKEN: apiToken } = config;
  if (!accountId || !queueId || !apiToken) return undefined;
  return {
    apiBase: config.QUEUE_PULL_API_BASE,
    accountId,
    queueId,
    apiToken,
    secret: config.BACKEND_SIGNING_SECRET,
    hostId: config.QUEUE_PULL_HOST_ID ?? defaultHostId,
    visibilityTimeoutMs: config.QUEUE_PULL_VISIBILITY_S * 1000,
    idleDelayMs: config.QUEUE_PULL_IDLE_MS,
    retryDelaySeconds: 10,
  };
}

export function modelsDir(config: ServiceConfig): string {
  return config.MODELS_DIR ?? `${config.DATA_DIR}/models`;
}
