/**
 * Outputs leave through upload slots: the backend asks the Worker for a signed
 * PUT URL per artifact (`POST ${callback_url}/uploads`), PUTs the bytes there and
 * then announces the artifact with its sha256 and size. The backend never holds
 * storage credentials and the Worker alone decides where each file lands.
 */
import { createHash } from "node:crypto";
import { UploadSlotSchema, type ArtifactName, type UploadSlotRequest } from "../../../shared/job.js";
import type { Artifact } from "../jobs/context.js";
import { AttemptSuperseded, JobError } from "../jobs/errors.js";
import { signedHeaders } from "../../../shared/signing.js";
import type { EventReporter } from "./events.js";
import { DEFAULT_RETRY, fetchWithRetry, type RetryPolicy } from "./retry.js";

export interface UploadedArtifact {
  name: ArtifactName;
  sha256: string;
  size: number;
}

export interface UploaderOptions {
  jobId: string;
  attempt: number;
  callbackUrl: string;
  secret: string;
  events: EventReporter;
  retry?: RetryPolicy;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export class Uploader {
  constructor(private readonly options: UploaderOptions) {}

  async upload(artifact: Artifact): Promise<UploadedArtifact> {
    const { jobId, attempt, callbackUrl, secret, retry = DEFAULT_RETRY } = this.options;
    const slotRequest: UploadSlotRequest = {
      job_id: jobId,
      attempt,
      name: artifact.name,
      content_type: artifact.contentType,
      size: artifact.bytes.byteLength,
    };
    const requestBody = JSON.stringify(slotRequest);
    const slotResponse = await fetchWithRetry(
      `${callbackUrl.replace(/\/$/, "")}/uploads`,
      async () => ({
        method: "POST",
        headers: { "content-type": "application/json", ...(await signedHeaders(secret, requestBody)) },
        body: requestBody,
      }),
      retry,
    );
    if (slotResponse.status === 409) {
      const reason = await slotResponse.text();
      this.options.events.supersede(reason);
      throw new AttemptSuperseded(reason);
    }
    if (!slotResponse.ok) {
      throw new JobError(
        "upload_refused",
        `the Worker refused an upload slot for ${artifact.name}: HTTP ${slotResponse.status}`,
        false,
      );
    }
    const slot = UploadSlotSchema.parse(await slotResponse.json());
    const putResponse = await fetchWithRetry(
      slot.url,
      async () => ({ method: slot.method, headers: slot.headers, body: artifact.bytes as Uint8Array<ArrayBuffer> }),
      retry,
    );
    if (!putResponse.ok) {
      throw new JobError("upload_failed", `uploading ${artifact.name} failed: HTTP ${putResponse.status}`, true);
    }
    await putResponse.body?.cancel();
    const uploaded = { name: artifact.name, sha256: sha256Hex(artifact.bytes), size: artifact.bytes.byteLength };
    await this.options.events.emit({
      type: "artifact",
      ...uploaded,
      format: artifact.format,
      content_type: artifact.contentType,
      ...(artifact.meta ? { meta: artifact.meta } : {}),
    });
    return uploaded;
  }
}
