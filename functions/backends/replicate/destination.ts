/**
 * Where trained versions land on Replicate: one private destination model per
 * account, `<owner>/dreambooth-<account id>`, so a Replicate user sees each
 * customer's subjects as the versions of one model and nothing crosses accounts.
 * Replicate requires the destination to exist before a training, so it is made
 * on the account's first training; a concurrent first training may win the race.
 */
import type { ApiError as ReplicateApiError } from "replicate";
import { replicateClient } from "./client.js";
import type { ReplicateConfig } from "./config.js";

export function destinationModelName(accountId: string): string {
  return `dreambooth-${accountId.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}`;
}

function statusOf(error: unknown): number | undefined {
  return (error as Partial<ReplicateApiError>).response?.status;
}

/** The destination of `accountId`'s trainings, created when missing. */
export async function ensureDestination(
  config: ReplicateConfig & { token: string },
  owner: string,
  accountId: string,
): Promise<`${string}/${string}`> {
  const name = destinationModelName(accountId);
  const client = replicateClient(config);
  try {
    await client.models.get(owner, name);
    return `${owner}/${name}`;
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  try {
    await client.models.create(owner, name, {
      visibility: "private",
      hardware: config.destinationHardware,
      description: "DreamBooth subjects trained through dreambooth-edge",
    });
  } catch (error) {
    if (statusOf(error) !== 409) throw error;
  }
  return `${owner}/${name}`;
}
