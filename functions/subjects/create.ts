/** Creating a subject: a draft that takes photos until it is finalized. The API route and the chat bots both start here. */
import { newId } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import type { Caller } from "../caller.js";
import { defaultIdentifier } from "./rare-tokens.js";
import type { CreateSubjectRequest, Subject } from "./schemas.js";

export function createSubject(caller: Caller, request: CreateSubjectRequest): Promise<Subject> {
  return accountStore(caller.env, caller.accountId).createSubject({
    id: newId("subject"),
    name: request.name,
    class_noun: request.class_noun,
    identifier: request.identifier ?? defaultIdentifier(),
    mode: caller.keyMode,
    created_at: Date.now(),
  });
}
