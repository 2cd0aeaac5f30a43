/**
 * Public shapes of subjects and of the photo report `finalize` returns. The zod
 * schemas are the types (and the OpenAPI document); the account store and the
 * routes both use them, so what is stored is what is served.
 */
import { z } from "@hono/zod-openapi";
import { SAFE_FILE_NAME } from "../../shared/index.js";
import { KEY_MODES } from "../accounts/api-keys.js";

export const SUBJECT_STATUSES = ["draft", "ready"] as const;

/**
 * Text a person reads back (names in lists, chat replies, prompts): no control
 * characters (C0, DEL, C1: Unicode's Cc, spelled out because OpenAPI patterns
 * carry no `u` flag) and no bidirectional controls, which can make a name
 * display as something else (U+202E turns "gpj.exe" around). Joiners stay, so
 * emoji sequences are fine.
 */
const DISPLAYABLE = /^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]*$/;
const displayable = (max: number) =>
  z.string().trim().min(1).max(max).regex(DISPLAYABLE, "no control characters or bidirectional overrides");

export const PhotoNameSchema = z
  .string()
  .regex(SAFE_FILE_NAME, "must be 1–121 characters of A-Z a-z 0-9 . _ - starting with a letter or digit");

export const PHOTO_FORMATS = ["jpeg", "png", "webp"] as const;

export const IssueSchema = z.object({ code: z.string(), message: z.string() }).openapi("Issue");

/** One accepted photo as recorded at finalize: the manifest a training reads its inputs from. */
export const PhotoSchema = z
  .object({
    name: PhotoNameSchema,
    format: z.enum(PHOTO_FORMATS),
    content_type: z.string(),
    size: z.number().int().nonnegative(),
    sha256: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    warnings: z.array(IssueSchema),
  })
  .openapi("Photo");

/** What `finalize` says about one uploaded file, accepted or not. */
export const PhotoReportSchema = z
  .object({
    name: z.string(),
    ok: z.boolean(),
    size: z.number().int(),
    sha256: z.string().optional(),
    format: z.enum(PHOTO_FORMATS).optional(),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    problems: z.array(IssueSchema),
    warnings: z.array(IssueSchema),
  })
  .openapi("PhotoReport");

export const PhotoSetReportSchema = z
  .object({ ok: z.boolean(), problems: z.array(IssueSchema), photos: z.array(PhotoReportSchema) })
  .openapi("PhotoSetReport");
export type Photo = z.infer<typeof PhotoSchema>;

export const SubjectSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    class_noun: z.string(),
    identifier: z.string(),
    /** `ready` once `finalize` accepted its photos; trainings need a ready subject. */
    status: z.enum(SUBJECT_STATUSES),
    /** The mode of the key that created it; only keys of that mode see it. */
    mode: z.enum(KEY_MODES),
    photos: z.array(PhotoSchema),
    created_at: z.number().int().openapi({ description: "Unix ms" }),
    finalized_at: z.number().int().nullable(),
  })
  .openapi("Subject");
export type Subject = z.infer<typeof SubjectSchema>;

export const CreateSubjectSchema = z
  .object({
    name: displayable(100),
    /** The paper's class noun ("dog", "backpack"); required, a wrong one ruins results (Table 4). */
    // It goes into prompts, so no braces either (`{subject}` is the prompt placeholder).
    class_noun: displayable(64).regex(/^[^{}]+$/, "no braces"),
    identifier: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[a-z0-9]+$/, "lowercase letters and digits only")
      .optional()
      .openapi({ description: "Rare token naming the subject; defaults to one from the rare-token list" }),
  })
  .strict()
  .openapi("CreateSubject");
export type CreateSubjectRequest = z.infer<typeof CreateSubjectSchema>;

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/, "must be a cursor from a previous page").optional(),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;
