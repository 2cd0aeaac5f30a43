/**
 * `findJob` is how every public route reaches a training or generation: the job's
 * own object says which account it belongs to, and a job of another account, of
 * the other kind, or with a malformed id is indistinguishable from one that never
 * existed (404, never 403).
 */
import { isId, type JobKind } from "../../shared/index.js";
import { ApiError } from "../errors.js";
import { jobStore } from "./job-do.js";
import type { GenerationRecord, TrainingRecord } from "./record.js";

type RecordOf<K extends JobKind> = K extends "train" ? TrainingRecord : GenerationRecord;

const NOUN = { train: "training", generate: "generation" } as const;

export async function findJob<K extends JobKind>(
  env: Env,
  accountId: string,
  kind: K,
  jobId: string,
): Promise<RecordOf<K>> {
  const notFound = new ApiError(404, "not_found", `No ${NOUN[kind]} ${jobId}`);
  if (!isId(NOUN[kind], jobId)) throw notFound;
  const record = await jobStore(env, jobId).get();
  if (!record || record.account_id !== accountId || record.kind !== kind) throw notFound;
  return record as RecordOf<K>;
}
