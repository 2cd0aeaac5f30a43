/**
 * Deleting a subject cancels its live jobs and removes its photos and everything
 * trained or generated from it from R2. Live jobs stop first, so no backend keeps
 * writing under prefixes about to be emptied.
 */
import { z } from "@hono/zod-openapi";
import { r2Keys } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import { jobStore } from "../jobs/job-do.js";
import { deletePrefix } from "../storage/delete-prefix.js";
import type { Caller } from "../caller.js";
import { findSubject } from "./lookup.js";

export const SubjectDeletedSchema = z.object({
  id: z.string(),
  deleted: z.literal(true),
  trainings: z.array(z.string()),
  generations: z.array(z.string()),
  removed_objects: z.number().int(),
});
export type SubjectDeleted = z.infer<typeof SubjectDeletedSchema>;

export async function deleteSubject(caller: Caller, id: string): Promise<SubjectDeleted> {
  const { env, accountId } = caller;
  await findSubject(caller, id);
  const removed = await accountStore(env, accountId).deleteSubject(id);
  if (!removed) throw new ApiError(404, "not_found", `No subject ${id}`);
  await Promise.all(removed.live.map((jobId) => jobStore(env, jobId).cancel()));
  const prefixes = [
    r2Keys.subjectPrefix(accountId, id),
    ...removed.trainings.map((trainingId) => r2Keys.trainingPrefix(accountId, trainingId)),
    ...removed.generations.map((generationId) => r2Keys.generationPrefix(accountId, generationId)),
  ];
  let removedObjects = 0;
  for (const prefix of prefixes) removedObjects += await deletePrefix(env.BUCKET, prefix);
  const { trainings, generations } = removed;
  return { id, deleted: true, trainings, generations, removed_objects: removedObjects };
}
