/**
 * Inputs arrive as signed GET URLs with the sha256 the Worker recorded at upload.
 * Verifying the digest catches truncated transfers and objects replaced after
 * finalisation; a mismatch is not retryable because the stored bytes themselves
 * differ, so the message tells the user what to re-upload.
 */
import type { InputFile } from "../../../shared/job.js";
import { JobError } from "../jobs/errors.js";
import { DEFAULT_RETRY, fetchWithRetry, type RetryPolicy } from "./retry.js";
import { sha256Hex } from "./uploads.js";

/** A file to download; without `sha256` (a cached bundle the Worker has no digest of) nothing is verified. */
export type InputToFetch = Pick<InputFile, "name" | "url"> & Partial<Pick<InputFile, "sha256" | "size">>;

export async function fetchVerifiedInput(input: InputToFetch, retry: RetryPolicy = DEFAULT_RETRY): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchWithRetry(input.url, async () => ({ method: "GET" }), retry);
  } catch (error) {
    throw new JobError(
      "input_unavailable",
      `could not download ${input.name}: ${error instanceof Error ? error.message : String(error)}`,
      true,
    );
  }
  if (!response.ok) {
    throw new JobError(
      "input_unavailable",
      `could not download ${input.name}: HTTP ${response.status} (the signed URL may have expired)`,
      true,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = sha256Hex(bytes);
  if (input.sha256 !== undefined && actual !== input.sha256) {
    throw new JobError(
      "input_checksum_mismatch",
      `${input.name} does not match the file that was uploaded (expected sha256 ${input.sha256}, got ${actual}, ` +
        `${bytes.byteLength} bytes${input.size === undefined ? "" : ` of ${input.size}`}). Upload ${input.name} again and start a new training.`,
      false,
    );
  }
  return bytes;
}
