/**
 * `findSubject` is how every route reaches a subject: through the caller's own
 * account store, so an id from another account is indistinguishable from one
 * that never existed (404, never 403).
 */
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import type { Subject } from "./schemas.js";

export async function findSubject(env: Env, accountId: string, subjectId: string): Promise<Subject> {
  const subject = await accountStore(env, accountId).getSubject(subjectId);
  if (!subject) throw new ApiError(404, "not_found", `No subject ${subjectId}`);
  return subject;
}
