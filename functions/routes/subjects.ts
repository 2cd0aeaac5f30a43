/**
 * Subjects: the person, pet or object a model is trained on. Create, read, list
 * and delete; photos and finalize live in `subject-photos.ts`. Deleting a subject
 * cancels its live jobs and removes its photos and everything trained or
 * generated from it from R2.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { newId, r2Keys } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { JSON_BODY_LIMIT, limitBody } from "../body-limit.js";
import { ApiError } from "../errors.js";
import { jobStore } from "../jobs/job-do.js";
import { createRouter } from "../router.js";
import { deletePrefix } from "../storage/delete-prefix.js";
import { findSubject } from "../subjects/lookup.js";
import { defaultIdentifier } from "../subjects/rare-tokens.js";
import { CreateSubjectSchema, PageQuerySchema, type Subject, SubjectSchema } from "../subjects/schemas.js";
import { errorResponse, errorResponses, jsonContent } from "./responses.js";

export const SubjectIdParams = z.object({ id: z.string().min(1).max(64).openapi({ example: "sub_0123456789abcdefghjk" }) });

const security = [{ apiKey: [] }];

const createSubject = createRoute({
  method: "post",
  path: "/",
  tags: ["subjects"],
  summary: "Create a subject",
  security,
  middleware: [limitBody(JSON_BODY_LIMIT)] as const,
  request: { body: { content: { "application/json": { schema: CreateSubjectSchema } }, required: true } },
  responses: {
    201: jsonContent(SubjectSchema, "Created (status draft: upload photos, then finalize)"),
    ...errorResponses,
    413: errorResponse("Body too large"),
    415: errorResponse("Body is not JSON"),
  },
});

const getSubject = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["subjects"],
  summary: "Get a subject",
  security,
  request: { params: SubjectIdParams },
  responses: { 200: jsonContent(SubjectSchema, "The subject"), ...errorResponses },
});

const SubjectPageSchema = z.object({ items: z.array(SubjectSchema), next_cursor: z.string().nullable() }).openapi("SubjectPage");

const listSubjects = createRoute({
  method: "get",
  path: "/",
  tags: ["subjects"],
  summary: "List subjects, newest first",
  security,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(SubjectPageSchema, "One page of subjects"), ...errorResponses },
});

const SubjectDeletedSchema = z.object({
  id: z.string(),
  deleted: z.literal(true),
  trainings: z.array(z.string()),
  generations: z.array(z.string()),
  removed_objects: z.number().int(),
});

const deleteSubject = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["subjects"],
  summary: "Delete a subject, its photos, and its trainings' and generations' files",
  security,
  request: { params: SubjectIdParams },
  responses: { 200: jsonContent(SubjectDeletedSchema, "Deleted"), ...errorResponses },
});

/** Creates a draft subject; the API route and the chat bots both start here. */
export function createSubjectFor(env: Env, accountId: string, body: z.infer<typeof CreateSubjectSchema>): Promise<Subject> {
  return accountStore(env, accountId).createSubject({
    id: newId("subject"),
    name: body.name,
    class_noun: body.class_noun,
    identifier: body.identifier ?? defaultIdentifier(),
    created_at: Date.now(),
  });
}

export const subjects = createRouter()
  .openapi(createSubject, async (c) => c.json(await createSubjectFor(c.env, c.var.accountId, c.req.valid("json")), 201))
  .openapi(listSubjects, async (c) => c.json(await accountStore(c.env, c.var.accountId).listSubjects(c.req.valid("query")), 200))
  .openapi(getSubject, async (c) => c.json(await findSubject(c.env, c.var.accountId, c.req.valid("param").id), 200))
  .openapi(deleteSubject, async (c) => {
    const { id } = c.req.valid("param");
    const accountId = c.var.accountId;
    const removed = await accountStore(c.env, accountId).deleteSubject(id);
    if (!removed) throw new ApiError(404, "not_found", `No subject ${id}`);
    // Stop live jobs first, so no backend keeps writing under prefixes about to be emptied.
    await Promise.all(removed.live.map((jobId) => jobStore(c.env, jobId).cancel()));
    const prefixes = [
      r2Keys.subjectPrefix(accountId, id),
      ...removed.trainings.map((trainingId) => r2Keys.trainingPrefix(accountId, trainingId)),
      ...removed.generations.map((generationId) => r2Keys.generationPrefix(accountId, generationId)),
    ];
    let removedObjects = 0;
    for (const prefix of prefixes) removedObjects += await deletePrefix(c.env.BUCKET, prefix);
    const { trainings, generations } = removed;
    return c.json({ id, deleted: true as const, trainings, generations, removed_objects: removedObjects }, 200);
  });
