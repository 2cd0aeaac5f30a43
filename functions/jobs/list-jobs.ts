/**
 * Listing an account's trainings or generations, newest first. The account's job
 * index pages and filters (by subject, training, status); each listed job's own
 * object then gives its full record, read in parallel, so a list item is exactly
 * what `GET /v1/trainings/:id` (or generations) would answer. A job whose object has
 * no record (an index entry left by a failed create) is left out of the page.
 */
import type { JobStatus } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import type { Page } from "../pagination.js";
import { jobStore } from "./job-do.js";
import type { GenerationRecord, TrainingRecord } from "./record.js";

export interface JobListQuery {
  limit: number;
  cursor?: string;
  status?: JobStatus;
  subject_id?: string;
}

async function records<R>(entries: { id: string }[], kind: "train" | "generate", env: Env, accountId: string): Promise<R[]> {
  const loaded = await Promise.all(entries.map((entry) => jobStore(env, entry.id).get()));
  return loaded.filter((record) => record !== null && record.account_id === accountId && record.kind === kind) as R[];
}

export async function listTrainings(env: Env, accountId: string, query: JobListQuery): Promise<Page<TrainingRecord>> {
  const index = await accountStore(env, accountId).listTrainings(query);
  return { items: await records<TrainingRecord>(index.items, "train", env, accountId), next_cursor: index.next_cursor };
}

export async function listGenerations(env: Env, accountId: string, query: JobListQuery & { training_id?: string }): Promise<Page<GenerationRecord>> {
  const index = await accountStore(env, accountId).listGenerations(query);
  return { items: await records<GenerationRecord>(index.items, "generate", env, accountId), next_cursor: index.next_cursor };
}
