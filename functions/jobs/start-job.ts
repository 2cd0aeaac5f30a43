/**
 * How every job starts, whoever asks (an API route, a chat bot): charge, create,
 * index. The record arrives admitted by its backend (`backends/choose.ts` picked
 * it, the backend's registry entry checked it); the price is reserved first, and a
 * job whose creation fails releases that reservation (`startChargedJob`), so a job
 * that never existed holds no credits or concurrency slot. The account's job index
 * learns of the job last: a crash before that leaves a running job missing from
 * lists, never a listed job that does not exist.
 */
import { accountStore } from "../accounts/account-do.js";
import { startChargedJob } from "../billing/charges.js";
import type { Caller } from "../caller.js";
import { jobStore } from "./job-do.js";
import type { GenerationRecord, NewGenerationRecord, NewTrainingRecord, TrainingRecord } from "./record.js";

export async function startJob(caller: Caller, record: NewTrainingRecord, origin: string): Promise<TrainingRecord>;
export async function startJob(caller: Caller, record: GenerationOfTraining, origin: string): Promise<GenerationRecord>;
export async function startJob(
  caller: Caller,
  record: NewTrainingRecord | GenerationOfTraining,
  origin: string,
): Promise<TrainingRecord | GenerationRecord> {
  const { env, accountId } = caller;
  const created = await startChargedJob(caller, record, async (charged) => jobStore(env, charged.id).create(charged, origin));
  const entry = { id: created.id, mode: caller.keyMode, status: created.status, created_at: created.created_at };
  if (record.kind === "train") {
    await accountStore(env, accountId).recordTraining({ ...entry, subject_id: record.subject.id });
  } else {
    await accountStore(env, accountId).recordGeneration({ ...entry, training_id: record.training_id });
  }
  return created;
}

/** A generation is listed under the training whose weights it renders with. */
type GenerationOfTraining = NewGenerationRecord & { training_id: string };
