/**
 * Turns a job record into the `JobMessage` of its current attempt. URLs are minted
 * here, at each dispatch, because they are short-lived; everything else is copied
 * from the record, so every attempt of a job runs with exactly the same parameters.
 * Signing and lookups are passed in, which keeps the assembly itself pure.
 */
import type { InputFile, JobMessage } from "../../shared/index.js";
import type { ArtifactRecord, JobRecord, StoredInput } from "./record.js";

/** How long the backend may take before it should give up and report `failed`. */
export const JOB_DEADLINE_MS = { train: 6 * 3600_000, generate: 30 * 60_000 } as const;

export interface MessageContext {
  callbackUrl: string;
  now: number;
  /** A signed GET URL for an R2 key, valid long enough for the backend to fetch it. */
  signGet(key: string): Promise<string>;
  /** The shared class-image bundle of this cache key, when one was made before. */
  cachedClassImages?: { url: string; sha256: string };
}

async function signInput(input: StoredInput, context: MessageContext): Promise<InputFile> {
  return {
    name: input.name,
    url: await context.signGet(input.key),
    sha256: input.sha256,
    size: input.size,
    ...(input.content_type ? { content_type: input.content_type } : {}),
  };
}

/** The newest checkpoint any earlier attempt reported, to resume from. */
export function latestCheckpoint(artifacts: ArtifactRecord[]): ArtifactRecord | undefined {
  const step = (artifact: ArtifactRecord) => Number(artifact.meta?.step ?? -1);
  return artifacts.filter((artifact) => artifact.format === "checkpoint").sort((a, b) => step(b) - step(a))[0];
}

export async function buildJobMessage(record: JobRecord, context: MessageContext): Promise<JobMessage> {
  const common = {
    job_id: record.id,
    attempt: record.attempt,
    base_model: record.base_model,
    callback_url: context.callbackUrl,
    deadline: context.now + JOB_DEADLINE_MS[record.kind],
  };
  if (record.kind === "generate") {
    const weights = record.weights && {
      format: record.weights.format,
      method: record.weights.method,
      files: await Promise.all(record.weights.files.map((file) => signInput(file, context))),
    };
    return { ...common, kind: "generate", params: record.params, ...(weights ? { weights } : {}) };
  }
  const checkpoint = record.attempt > 1 ? latestCheckpoint(record.artifacts) : undefined;
  const cacheKey = record.class_images_cache_key;
  return {
    ...common,
    kind: "train",
    subject: { identifier: record.subject.identifier, class_noun: record.subject.class_noun },
    params: record.params,
    inputs: await Promise.all(record.inputs.map((input) => signInput(input, context))),
    ...(cacheKey ? { class_images: { cache_key: cacheKey, ...context.cachedClassImages } } : {}),
    ...(checkpoint
      ? {
          resume: {
            url: await context.signGet(checkpoint.key),
            sha256: checkpoint.sha256,
            step: Number(checkpoint.meta?.step ?? 0),
          },
        }
      : {}),
  };
}
