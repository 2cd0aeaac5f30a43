/**
 * The seam between a job's Durable Object and whatever runs the GPU work. A backend
 * receives a fully resolved `JobMessage` and reports `BackendEvent`s back — either
 * by pushing signed events to the job's `callback_url` (our container) or, for a
 * backend that cannot call us, by being polled (the fake, and a Replicate backend
 * that checks predictions when webhooks are late). Both paths feed the same
 * `JobDO.ingest`, so the state machine never knows which backend it is driving.
 */
import type { BackendEvent, JobMessage, ResolvedTrainingParams, SubjectNames, TrainingParamsInput } from "../../shared/index.js";
import type { NewGenerationRecord } from "../jobs/record.js";
import type { DispatchResult } from "../jobs/dispatch-policy.js";
import type { Secrets } from "../secrets.js";

export type { DispatchResult };

/** Writes a file the backend produced to the R2 key the Worker assigns to `name`. */
export interface ArtifactStore {
  put(name: string, body: Uint8Array, contentType: string): Promise<{ sha256: string; size: number }>;
}

export interface PollRequest {
  /** The message of the current attempt, as it was dispatched. */
  message: JobMessage;
  /** What `dispatch` returned as `ref` for this attempt (e.g. a prediction id). */
  ref?: string;
  /** Highest `seq` already recorded for this attempt, -1 when none. */
  lastSeq: number;
  store: ArtifactStore;
}

export interface GpuBackend {
  readonly name: string;
  /**
   * Hands attempt `message.attempt` of a job to the backend. Resolves to
   * `accepted` (with the backend's own id as `ref`, when it has one; `queued` when
   * a GPU host still has to claim it), `busy` (alive, every GPU taken),
   * `unreachable` (refused, timed out: the host may be gone), or `rejected`
   * (permanent: the job fails with that code); the job object retries busy and
   * unreachable within their own budgets. Must be idempotent per (job_id, attempt),
   * since a lost answer is retried, and must not hang: every call has a timeout.
   */
  dispatch(message: JobMessage): Promise<DispatchResult>;
  /** Best-effort request to stop one attempt (bounded by a timeout); the job is already `canceled` or re-dispatched on our side. */
  cancel(job: { job_id: string; attempt: number; ref?: string }): Promise<void>;
  /**
   * For backends that report by being asked: returns the events of the current
   * attempt after `lastSeq`, with `seq`s numbered by the backend adapter. Called
   * every `pollIntervalMs` while the job is live.
   */
  poll?(request: PollRequest): Promise<BackendEvent[]>;
  readonly pollIntervalMs?: number;
}

/** A training as a backend is asked to admit it: the params the client sent, and the ones it would run with. */
export interface TrainingAdmission {
  requested: TrainingParamsInput;
  resolved: ResolvedTrainingParams;
  subject: SubjectNames;
}

/** One backend a job may name: how to build its client and what it refuses before a job is charged. */
export interface BackendEntry {
  create(env: Env & Secrets): GpuBackend;
  /** The params the training will really run with; throws `ApiError` (4xx/503) when the backend cannot run it. */
  admitTraining?(env: Env & Secrets, training: TrainingAdmission): ResolvedTrainingParams;
  /** Throws `ApiError` when the backend cannot render this generation. */
  admitGeneration?(env: Env & Secrets, generation: Pick<NewGenerationRecord, "params" | "weights">): void;
}
