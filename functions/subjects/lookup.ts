/**
 * `findSubject` is how every use case reaches a subject: through the caller's own
 * account store, and only in the caller's key mode, so an id from another account
 * or the other mode is indistinguishable from one that never existed (404, never 403).
 */
import { accountStore } from "../accounts/account-do.js";
import type { Caller } from "../caller.js";
import { ApiError } from "../errors.js";
import type { Subject } from "./schemas.js";

export async function findSubject(caller: Caller, subjectId: string): Promise<Subject> {
  const subject = await accountStore(caller.env, caller.accountId).getSubject(subjectId);
  if (!subject || subject.mode !== caller.keyMode) throw new ApiError(404, "not_found", `No subject ${subjectId}`);
  return subject;
}
