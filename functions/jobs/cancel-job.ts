/** Canceling a training or a generation: both are the same `JobDO`, so this is written once. */
import { ApiError } from "../errors.js";
import { jobStore } from "./job-do.js";
import type { JobRecord } from "./record.js";

/** Cancels a live job and returns its record as canceled; a job that already ended is a 409. */
export async function cancelJob<R extends JobRecord>(env: Env, record: R): Promise<R> {
  const outcome = await jobStore(env, record.id).cancel();
  if (outcome.kind === "already_terminal") {
    throw new ApiError(409, "job_finished", `${record.id} already ended as ${outcome.record.status}`);
  }
  return outcome.record as R;
}
