/**
 * Listing an account's trainings or generations of the caller's key mode, newest first. The account's job
 * index pages and filters (by subject, training, status); each listed job's own
 * object then gives its full record, read in parallel, so a list item is exactly
 * what `GET /v1/trainings/:id` (or generations) would answer. A job whose object has
 * no record (an index entry left by a failed create) is left out of the page.
 */
import type { JobStatus } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import type { Page } from "../pagination.js";
import type { Caller } from "../caller.js";
import { jobStore } from "./job-do.js";
import { visibleTo } from "./lookup.js";
import type { GenerationRecord, TrainingRecord } from "./record.js";

export interface JobListQuery {
  limit: number;
  cursor?: string;
  status?: JobStatus;
  subject_id?: string;
}

async function records<R>(caller: Caller, entries: { id: string }[], kind: "train" | "generate"): Promise<R[]> {
  const loaded = await Promise.all(entries.map((entry) => jobStore(caller.env, entry.id).get()));
  return loaded.filter((record) => record !== null && visibleTo(caller, record) && record.kind === kind) as R[];
}

/** The caller's trainings in its key mode. */
export async function listTrainings(caller: Caller, query: JobListQuery): Promise<Page<TrainingRecord>> {
  const index = await accountStore(caller.env, caller.accountId).listTrainings({ ...query, mode: caller.keyMode });
  return { items: await records<TrainingRecord>(caller, index.items, "train"), next_cursor: index.next_cursor };
}

/** The caller's generations in its key mode. */
export async function listGenerations(caller: Caller, query: JobListQuery & { training_id?: string }): Promise<Page<GenerationRecord>> {
  const index = await accountStore(caller.env, caller.accountId).listGenerations({ ...query, mode: caller.keyMode });
  return { items: await records<GenerationRecord>(caller, index.items, "generate"), next_cursor: index.next_cursor };
}
