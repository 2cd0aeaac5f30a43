/**
 * The Replicate backend's configuration, read from the Worker's bindings in one
 * place. Secrets (`REPLICATE_API_TOKEN`, `REPLICATE_WEBHOOK_SECRET`) come from
 * `wrangler secret put`; the rest are plain vars with working defaults, so only
 * the token and the destination owner must be set to train on Replicate.
 */
import { z } from "zod";
import { ApiError } from "../../errors.js";

/**
 * stability-ai/sdxl's trainable version (replicate/cog-sdxl): LoRA or full
 * fine-tuning with pivotal tuning; the same version renders with the trained
 * weights passed as `replicate_weights`.
 */
export const DEFAULT_TRAINER_MODEL = "stability-ai/sdxl";
export const DEFAULT_TRAINER_VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b";

export interface ReplicateBindings {
  BUCKET: R2Bucket;
  REPLICATE_API_TOKEN?: string;
  REPLICATE_WEBHOOK_SECRET?: string;
  REPLICATE_API_BASE_URL?: string;
  REPLICATE_TRAINER_MODEL?: string;
  REPLICATE_TRAINER_VERSION?: string;
  REPLICATE_DESTINATION_OWNER?: string;
  REPLICATE_DESTINATION_HARDWARE?: string;
  REPLICATE_POLL_INTERVAL_S?: string;
  REPLICATE_INPUT_URL_TTL_S?: string;
}

const ConfigSchema = z.object({
  token: z.string().min(1).optional(),
  webhookSecret: z.string().startsWith("whsec_").optional(),
  baseUrl: z.url().default("https://api.replicate.com/v1"),
  trainerModel: z
    .string()
    .regex(/^[a-z0-9_.-]+\/[a-z0-9_.-]+$/i)
    .default(DEFAULT_TRAINER_MODEL),
  trainerVersion: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .default(DEFAULT_TRAINER_VERSION),
  destinationOwner: z.string().min(1).optional(),
  /** Hardware the destination models' trained versions run on. */
  destinationHardware: z.string().min(1).default("gpu-l40s"),
  /** Silence after which the job object asks Replicate itself instead of waiting for a webhook. */
  pollIntervalMs: z.coerce.number().int().min(1000).default(60_000),
  /** Lifetime of the signed URL the trainer downloads the photos zip from; it may sit queued a while. */
  inputUrlTtlS: z.coerce.number().int().min(60).default(2 * 3600),
});
export type ReplicateConfig = z.infer<typeof ConfigSchema>;

/** The binding each config field is read from, to name it in errors. */
const VARIABLE_OF: Record<string, string> = {
  token: "REPLICATE_API_TOKEN",
  webhookSecret: "REPLICATE_WEBHOOK_SECRET",
  baseUrl: "REPLICATE_API_BASE_URL",
  trainerModel: "REPLICATE_TRAINER_MODEL",
  trainerVersion: "REPLICATE_TRAINER_VERSION",
  destinationOwner: "REPLICATE_DESTINATION_OWNER",
  destinationHardware: "REPLICATE_DESTINATION_HARDWARE",
  pollIntervalMs: "REPLICATE_POLL_INTERVAL_S",
  inputUrlTtlS: "REPLICATE_INPUT_URL_TTL_S",
};

const blankToUndefined = (value: string | undefined) => (value === undefined || value.trim() === "" ? undefined : value.trim());

/** The config, or a 503 naming each variable that holds an unusable value. */
export function readReplicateConfig(env: ReplicateBindings): ReplicateConfig {
  const parsed = ConfigSchema.safeParse({
    token: blankToUndefined(env.REPLICATE_API_TOKEN),
    webhookSecret: blankToUndefined(env.REPLICATE_WEBHOOK_SECRET),
    baseUrl: blankToUndefined(env.REPLICATE_API_BASE_URL),
    trainerModel: blankToUndefined(env.REPLICATE_TRAINER_MODEL),
    trainerVersion: blankToUndefined(env.REPLICATE_TRAINER_VERSION),
    destinationOwner: blankToUndefined(env.REPLICATE_DESTINATION_OWNER),
    destinationHardware: blankToUndefined(env.REPLICATE_DESTINATION_HARDWARE),
    pollIntervalMs: blankToUndefined(env.REPLICATE_POLL_INTERVAL_S) && Number(env.REPLICATE_POLL_INTERVAL_S) * 1000,
    inputUrlTtlS: blankToUndefined(env.REPLICATE_INPUT_URL_TTL_S),
  });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0]);
    return `${VARIABLE_OF[field] ?? field}: ${issue.message}`;
  });
  throw new ApiError(503, "misconfigured", `Replicate settings are unusable: ${problems.join("; ")}`);
}
