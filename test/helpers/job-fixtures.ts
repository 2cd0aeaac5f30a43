/** Job records built the way the routes build them, for the pure state-machine tests. */
import {
  GenerationParamsSchema,
  resolveTrainingParams,
  TrainingParamsSchema,
  type BackendEvent,
  type JobStatus,
} from "../../shared/index.js";
import { newJobRecord, type GenerationRecord, type JobRecord, type TrainingRecord } from "../../functions/jobs/record.js";

export function trainingRecord(overrides: Partial<TrainingRecord> = {}): TrainingRecord {
  const subject = { id: "sub_x", identifier: "sks", class_noun: "dog" };
  const params = resolveTrainingParams(TrainingParamsSchema.parse({ steps: 100 }), subject, { resolution: 512 }, 42);
  const record = newJobRecord(
    {
      id: "trn_00000000000000000000",
      kind: "train",
      account_id: "acc_a",
      backend: "container",
      base_model: "sd15",
      subject,
      params,
      inputs: [{ name: "a.png", key: "accounts/acc_a/subjects/sub_x/photos/a.png", sha256: "a".repeat(64), size: 10 }],
      class_images_cache_key: "cafe",
    },
    1000,
  ) as TrainingRecord;
  return { ...record, ...overrides };
}

export function generationRecord(overrides: Partial<GenerationRecord> = {}): GenerationRecord {
  const params = { ...GenerationParamsSchema.parse({ prompt: "sks dog", num_images: 2 }), seed: 5, width: 64, height: 64 };
  const record = newJobRecord(
    { id: "gen_00000000000000000000", kind: "generate", account_id: "acc_a", backend: "container", base_model: "sd15", params },
    1000,
  ) as GenerationRecord;
  return { ...record, ...overrides };
}

export function at(record: JobRecord, status: JobStatus): JobRecord {
  return { ...record, status };
}

type Draft = BackendEvent extends infer E ? (E extends BackendEvent ? Omit<E, "job_id" | "attempt" | "seq" | "ts"> : never) : never;

let nextSeq = 0;
/** An event of `record`'s current attempt with a fresh seq. */
export function eventFor(record: JobRecord, draft: Draft, overrides: Partial<BackendEvent> = {}): BackendEvent {
  return { job_id: record.id, attempt: record.attempt, seq: nextSeq++, ts: 0, ...draft, ...overrides } as BackendEvent;
}

export const SHA = "b".repeat(64);
