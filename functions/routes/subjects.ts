/**
 * Subjects over HTTP: the person, pet or object a model is trained on. Create,
 * read, list and delete (the use cases are in `subjects/`); photos and finalize
 * live in `subject-photos.ts`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { accountStore } from "../accounts/account-do.js";
import { callerOf } from "../caller.js";
import { createRouter } from "../router.js";
import { createSubject } from "../subjects/create.js";
import { deleteSubject, SubjectDeletedSchema } from "../subjects/delete.js";
import { findSubject } from "../subjects/lookup.js";
import { CreateSubjectSchema, PageQuerySchema, SubjectSchema } from "../subjects/schemas.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";

export const SubjectIdParams = z.object({ id: z.string().min(1).max(64).openapi({ example: "sub_0123456789abcdefghjk" }) });

const security = [{ apiKey: [] }];

const createSubjectRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["subjects"],
  summary: "Create a subject",
  security,
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

const deleteSubjectRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["subjects"],
  summary: "Delete a subject, its photos, and its trainings' and generations' files",
  security,
  request: { params: SubjectIdParams },
  responses: { 200: jsonContent(SubjectDeletedSchema, "Deleted"), ...errorResponses },
});

export const subjects = createRouter()
  .openapi(createSubjectRoute, async (c) => c.json(await createSubject(callerOf(c), c.req.valid("json")), 201))
  .openapi(listSubjects, async (c) => c.json(await accountStore(c.env, c.var.accountId).listSubjects({ ...c.req.valid("query"), mode: c.var.keyMode }), 200))
  .openapi(getSubject, async (c) => c.json(await findSubject(callerOf(c), c.req.valid("param").id), 200))
  .openapi(deleteSubjectRoute, async (c) => c.json(await deleteSubject(callerOf(c), c.req.valid("param").id), 200));
