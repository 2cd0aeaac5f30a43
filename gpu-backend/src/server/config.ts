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
  /** Unset: the first of tensorflow, wasm, cpu that starts (see tensor/backend.ts). */
  TFJS_BACKEND: z.enum(TENSOR_BACKENDS).optional(),
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

export function modelsDir(config: ServiceConfig): string {
  return config.MODELS_DIR ?? `${config.DATA_DIR}/models`;
}
