/**
 * `findJob` is how every public route reaches a training or generation: the job's
 * own object says which account and key mode it belongs to, and a job of another
 * account, of the other mode, of the other kind, or with a malformed id is
 * indistinguishable from one that never existed (404, never 403).
 */
import { isId, type JobKind } from "../../shared/index.js";
import type { Caller } from "../caller.js";
import { ApiError } from "../errors.js";
import { jobStore } from "./job-do.js";
import type { GenerationRecord, JobRecord, TrainingRecord } from "./record.js";

type RecordOf<K extends JobKind> = K extends "train" ? TrainingRecord : GenerationRecord;

const NOUN = { train: "training", generate: "generation" } as const;

/** Whether the caller may see this record: its account, and its key mode (records made before modes were kept are live). */
export function visibleTo(caller: Pick<Caller, "accountId" | "keyMode">, record: JobRecord): boolean {
  return record.account_id === caller.accountId && (record.mode ?? "live") === caller.keyMode;
}

export async function findJob<K extends JobKind>(caller: Caller, kind: K, jobId: string): Promise<RecordOf<K>> {
  const notFound = new ApiError(404, "not_found", `No ${NOUN[kind]} ${jobId}`);
  if (!isId(NOUN[kind], jobId)) throw notFound;
  const record = await jobStore(caller.env, jobId).get();
  if (!record || !visibleTo(caller, record) || record.kind !== kind) throw notFound;
  return record as RecordOf<K>;
}
