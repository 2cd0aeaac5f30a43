/**
 * Replicate as a GPU backend behind the same `GpuBackend` seam as our container:
 * a training becomes a Replicate training of the configured trainer (the photos
 * zipped into R2 and offered by signed URL, a per-account destination model
 * created on first use), a generation becomes a prediction of the same model
 * version with our R2 copy of the trained weights. Replicate reports by signed
 * webhook (`routes/replicate-webhook.ts`); `poll` is the fallback the job object's
 * alarm runs so a lost webhook never strands a job. Rate limits and 5xx make the
 * job object retry with backoff; anything else Replicate refuses fails the job
 * with Replicate's own reason.
 */
import { r2Keys, type GenerateJob, type JobMessage, type TrainJob } from "../../../shared/index.js";
import type { Secrets } from "../../secrets.js";
import type { DispatchResult, GpuBackend, PollRequest } from "../types.js";
import { replicateClient } from "./client.js";
import { readReplicateConfig, type ReplicateBindings, type ReplicateConfig } from "./config.js";
import { copyUrlToR2, downloadBytes } from "./copy-output.js";
import { ensureDestination } from "./destination.js";
import { pollBackoffMs, readDispatchMarker, writeDispatchMarker } from "./dispatch-marker.js";
import { classifyReplicateError } from "./errors.js";
import { ReplicateJobSchema } from "./snapshot.js";
import { eventsFromSnapshot } from "./sync.js";
import { mapGenerationParams, mapTrainingParams, type ParamIssue } from "./trainer-params.js";
import { accountOfKey, objectKeyOfSignedUrl, trainingZip, type TrainingZip } from "./training-inputs.js";

export type ReplicateEnv = ReplicateBindings & Secrets & Pick<Env, "SIGNED_URL_MODE" | "R2_BUCKET_NAME">;

/** Every event the trainer can send: progress arrives with the logs. */
const WEBHOOK_EVENTS = ["start", "output", "logs", "completed"] as const;

type Configured = ReplicateConfig & { token: string };

/** The webhook Replicate calls for one attempt of one job. */
function replicateWebhookUrl(callbackUrl: string, jobId: string, attempt: number): string {
  const url = new URL("/v1/webhooks/replicate", callbackUrl);
  url.searchParams.set("job", jobId);
  url.searchParams.set("attempt", String(attempt));
  return url.toString();
}

function describeIssues(issues: ParamIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
}

function failure(error: unknown): DispatchResult {
  const classified = classifyReplicateError(error);
  return classified.retryable
    ? { outcome: "busy", ...(classified.retryAfterMs ? { retryAfterMs: classified.retryAfterMs } : {}) }
    : { outcome: "rejected", code: classified.code, message: classified.message };
}

async function startTraining(env: ReplicateEnv, config: Configured, message: TrainJob): Promise<DispatchResult> {
  if (!config.destinationOwner) {
    return { outcome: "rejected", code: "backend_not_configured", message: "REPLICATE_DESTINATION_OWNER is not set" };
  }
  // The request was checked field by field at creation; what reaches here is what it resolved to.
  const mapped = mapTrainingParams({}, message.params, message.subject);
  if (!mapped.ok) {
    return { outcome: "rejected", code: "invalid_params", message: describeIssues(mapped.issues) };
  }
  let zip: TrainingZip;
  try {
    zip = await trainingZip(env, {
      job_id: message.job_id,
      inputs: message.inputs,
      origin: new URL(message.callback_url).origin,
      ttlS: config.inputUrlTtlS,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { outcome: "rejected", code: "inputs_unavailable", message: `Could not package the photos: ${reason}` };
  }
  const destination = await ensureDestination(config, config.destinationOwner, zip.accountId);
  const [trainerOwner, trainerName] = config.trainerModel.split("/") as [string, string];
  const training = await replicateClient(config).trainings.create(trainerOwner, trainerName, config.trainerVersion, {
    destination,
    input: { ...mapped.input, input_images: zip.url },
    webhook: replicateWebhookUrl(message.callback_url, message.job_id, message.attempt),
    webhook_events_filter: [...WEBHOOK_EVENTS],
  });
  return { outcome: "accepted", ref: training.id };
}

async function startGeneration(config: Configured, message: GenerateJob): Promise<DispatchResult> {
  const weights = message.weights;
  if (weights && weights.format !== "cog-sdxl-lora") {
    return {
      outcome: "rejected",
      code: "weights_incompatible",
      message: `Replicate's SDXL cannot load ${weights.format} weights; generate with the backend that trained them`,
    };
  }
  const mapped = mapGenerationParams(message.params);
  if (!mapped.ok) {
    return { outcome: "rejected", code: "invalid_params", message: describeIssues(mapped.issues) };
  }
  const prediction = await replicateClient(config).predictions.create({
    version: config.trainerVersion,
    input: { ...mapped.input, ...(weights ? { replicate_weights: weights.files[0]!.url } : {}) },
    webhook: replicateWebhookUrl(message.callback_url, message.job_id, message.attempt),
    webhook_events_filter: [...WEBHOOK_EVENTS],
  });
  return { outcome: "accepted", ref: prediction.id };
}

/** A backend that refuses every job with why the deployment's Replicate settings are unusable. */
function misconfigured(message: string): GpuBackend {
  return {
    name: "replicate",
    dispatch: async () => ({ outcome: "rejected", code: "backend_not_configured", message }),
    cancel: async () => {},
  };
}

export function replicateBackend(env: ReplicateEnv): GpuBackend {
  let config: ReplicateConfig;
  try {
    config = readReplicateConfig(env);
  } catch (error) {
    return misconfigured(error instanceof Error ? error.message : String(error));
  }
  const configured = (): Configured | null => (config.token ? { ...config, token: config.token } : null);

  async function dispatch(message: JobMessage): Promise<DispatchResult> {
    const ready = configured();
    if (!ready) return { outcome: "rejected", code: "backend_not_configured", message: "REPLICATE_API_TOKEN is not set" };
    const earlier = await readDispatchMarker(env.BUCKET, message);
    if (earlier) return { outcome: "accepted", ref: earlier.id };
    let result: DispatchResult;
    try {
      result = message.kind === "train" ? await startTraining(env, ready, message) : await startGeneration(ready, message);
    } catch (error) {
      return failure(error);
    }
    if (result.outcome === "accepted") await writeDispatchMarker(env.BUCKET, message, { id: result.ref! });
    return result;
  }

  /** What the job object waits before the next poll; `poll` lengthens it after failures. */
  let nextPollMs = config.pollIntervalMs;

  async function poll(request: PollRequest) {
    const ready = configured();
    if (!ready || !request.ref) return [];
    const client = replicateClient(ready);
    const { message, ref } = request;
    const marker = (await readDispatchMarker(env.BUCKET, message)) ?? { id: ref };
    let snapshot;
    try {
      snapshot = ReplicateJobSchema.parse(
        message.kind === "train" ? await client.trainings.get(ref) : await client.predictions.get(ref),
      );
    } catch (error) {
      const failures = (marker.poll_failures ?? 0) + 1;
      await writeDispatchMarker(env.BUCKET, message, { ...marker, poll_failures: failures });
      const classified = classifyReplicateError(error);
      nextPollMs = pollBackoffMs(config.pollIntervalMs, failures, classified.retryable ? classified.retryAfterMs : undefined);
      throw error;
    }
    if (marker.poll_failures) await writeDispatchMarker(env.BUCKET, message, { id: marker.id });
    // Weights are large, so a training's are streamed into its own prefix; images are small enough for the store.
    const trainingAccount =
      message.kind === "train" ? accountOfKey(objectKeyOfSignedUrl(message.inputs[0]!.url, env.R2_BUCKET_NAME)) : null;
    return eventsFromSnapshot(snapshot, message, {
      job_id: message.job_id,
      attempt: message.attempt,
      lastSeq: request.lastSeq,
      async copy(file) {
        if (trainingAccount) {
          const key = r2Keys.trainingFile(trainingAccount, message.job_id, file.name);
          return copyUrlToR2(env.BUCKET, file.url, key, file.content_type);
        }
        return request.store.put(file.name, await downloadBytes(file.url), file.content_type);
      },
    });
  }

  return {
    name: "replicate",
    // Read by the job object right after `poll` (the same backend object), so a failed poll's backoff applies.
    get pollIntervalMs() {
      return nextPollMs;
    },
    dispatch,
    poll,
    async cancel(job) {
      const ready = configured();
      if (!ready || !job.ref) return;
      const client = replicateClient(ready);
      await (job.job_id.startsWith("gen_") ? client.predictions.cancel(job.ref) : client.trainings.cancel(job.ref));
    },
  };
}
