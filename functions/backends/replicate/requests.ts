/**
 * What the Replicate backend admits (its registry entry's `admitTraining` and
 * `admitGeneration`), checked before a job on it is charged, so a request Replicate could never run is refused at
 * once with the field it is about (400), and a deployment without
 * `REPLICATE_API_TOKEN` says so (503) instead of failing the job later.
 */
import type { ResolvedTrainingParams } from "../../../shared/index.js";
import type { NewGenerationRecord } from "../../jobs/record.js";
import { ApiError } from "../../errors.js";
import { requireSecret } from "../../secrets.js";
import type { TrainingAdmission } from "../types.js";
import { readReplicateConfig, type ReplicateBindings } from "./config.js";
import { mapGenerationParams, mapTrainingParams, type ParamIssue } from "./trainer-params.js";

function invalidParams(issues: ParamIssue[], prefix: string): ApiError {
  const fields = issues.map((issue) => issue.path).join(", ");
  return new ApiError(400, "invalid_params", `The Replicate backend cannot honour: ${fields}`, {
    issues: issues.map((issue) => ({ ...issue, path: `${prefix}${issue.path}` })),
  });
}

/** The parameters the training will actually run with on Replicate. */
export function admitReplicateTraining(env: ReplicateBindings, { requested, resolved, subject }: TrainingAdmission): ResolvedTrainingParams {
  requireSecret(env, "REPLICATE_API_TOKEN");
  if (!readReplicateConfig(env).destinationOwner) {
    throw new ApiError(503, "misconfigured", "REPLICATE_DESTINATION_OWNER is not configured on this deployment");
  }
  const mapped = mapTrainingParams(requested, resolved, subject);
  if (!mapped.ok) throw invalidParams(mapped.issues, "params.");
  return mapped.params;
}

export function admitReplicateGeneration(
  env: { REPLICATE_API_TOKEN?: string },
  { params, weights }: Pick<NewGenerationRecord, "params" | "weights">,
): void {
  requireSecret(env, "REPLICATE_API_TOKEN");
  if (weights && weights.format !== "cog-sdxl-lora") {
    throw new ApiError(
      409,
      "weights_incompatible",
      `Replicate's SDXL cannot load ${weights.format} weights; generate with the backend that trained them`,
    );
  }
  const mapped = mapGenerationParams(params);
  if (!mapped.ok) throw invalidParams(mapped.issues, "");
}
