/**
 * What the chat commands do, independent of the platform: train a subject from
 * photos people attached, imagine with a trained subject, report status, list
 * subjects. Each goes through the same internals as the API routes (create the
 * subject, store photos, finalize with the photo checks, start the job), so a bot
 * user gets exactly what an API client would, and the platform files only parse
 * commands and format answers.
 */
import { toHex } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import type { Secrets } from "../secrets.js";
import { jobStore } from "../jobs/job-do.js";
import type { GenerationRecord, TrainingRecord } from "../jobs/record.js";
import type { Caller } from "../caller.js";
import { GenerationRequestSchema, startGeneration } from "../jobs/start-generation.js";
import { startTraining } from "../jobs/start-training.js";
import { createSubject } from "../subjects/create.js";
import { finalizePhotos, storePhoto } from "../subjects/photos.js";
import { checkPhotoSet, PHOTO_RULES, type PhotoFile, type PhotoSetReport } from "../subjects/photo-checks.js";
import { CreateSubjectSchema, type Subject } from "../subjects/schemas.js";
import type { ChatTarget } from "../jobs/chat-target.js";

/** Chat attachments per training: the API's minimum, and what one message can reasonably carry. */
export const BOT_PHOTO_LIMITS = { min: PHOTO_RULES.minPhotos, max: 10 } as const;

/** A file someone attached in the chat, as the platform describes it. */
export interface ChatFile {
  name: string;
  size: number;
  url: string;
}

/** A person-readable failure; the platform files show `message` as an ephemeral reply. */
export class BotError extends Error {}

/** A photo name the subject store accepts, kept recognisable and unique by its position. */
export function photoNameFor(index: number, original: string): string {
  // The numeric prefix satisfies SAFE_FILE_NAME's first character; the extension is kept at the end.
  const cleaned = original.replace(/[^A-Za-z0-9._-]/g, "_").slice(-100);
  return `${index + 1}-${cleaned || "photo"}`;
}

/** The photo report as lines a person can act on, each naming the photo it is about. */
export function describePhotoReport(report: PhotoSetReport, originalNames: Map<string, string>): string {
  const lines = report.problems.map((problem) => `• ${problem.message}`);
  for (const photo of report.photos) {
    for (const problem of photo.problems) lines.push(`• ${originalNames.get(photo.name) ?? photo.name}: ${problem.message}`);
  }
  return `Some photos can't be used for training:\n${lines.join("\n")}`;
}

/** Any failure as a sentence for the chat: ours verbatim, API errors by their message, the rest generic. */
export function describeFailure(error: unknown): string {
  if (error instanceof BotError) return error.message;
  if (error instanceof ApiError) {
    if (error.status === 402) return `Not enough credits: ${error.message}`;
    return error.message;
  }
  console.error("bot command failed", error);
  return "Something went wrong on our side; please try again in a minute.";
}

/**
 * Downloads the attached photos (oversized ones are judged by their announced size,
 * never fetched), checks them with the API's photo rules, and only when all pass
 * creates the subject, stores and finalizes them, and starts the training.
 */
export async function trainFromChat(
  env: Env,
  accountId: string,
  request: { name: string; class_noun: string; files: ChatFile[]; download: (url: string) => Promise<Response> },
  origin: string,
  notify: ChatTarget,
): Promise<{ subject: Subject; training: TrainingRecord }> {
  const { files } = request;
  if (files.length < BOT_PHOTO_LIMITS.min || files.length > BOT_PHOTO_LIMITS.max) {
    throw new BotError(`Attach ${BOT_PHOTO_LIMITS.min} to ${BOT_PHOTO_LIMITS.max} photos of the subject (got ${files.length}).`);
  }
  const subjectRequest = CreateSubjectSchema.safeParse({ name: request.name, class_noun: request.class_noun });
  if (!subjectRequest.success) {
    throw new BotError(`The class must be a plain noun like "dog" or "backpack" (no braces), and the name 1–100 characters.`);
  }
  const originalNames = new Map<string, string>();
  const photos: PhotoFile[] = [];
  for (const [index, file] of files.entries()) {
    const name = photoNameFor(index, file.name);
    originalNames.set(name, file.name);
    if (file.size > PHOTO_RULES.maxBytes) {
      photos.push({ name, size: file.size });
      continue;
    }
    const response = await request.download(file.url);
    if (!response.ok) throw new BotError(`Could not download ${file.name} (status ${response.status}); please attach it again.`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    photos.push({ name, size: bytes.length, bytes, sha256: toHex(await crypto.subtle.digest("SHA-256", bytes)) });
  }
  const report = checkPhotoSet(photos);
  if (!report.ok) throw new BotError(describePhotoReport(report, originalNames));

  const caller = botCaller(env, accountId);
  const subject = await createSubject(caller, subjectRequest.data);
  for (const [index, photo] of photos.entries()) {
    await storePhoto(caller, subject.id, photo.name, photo.bytes!, report.photos[index].format!);
  }
  const finalized = await finalizePhotos(caller, subject.id);
  const training = await startTraining(caller, { subject_id: subject.id }, origin, { ...notify, subject_name: subject.name });
  return { subject: finalized.subject, training };
}

/** Chat jobs act for the linked account as a live key would: on its backends, against its credits. */
function botCaller(env: Env & Secrets, accountId: string): Caller {
  return { env, accountId, keyMode: "live" };
}

/** All subjects of the account, newest first (a chat lists and matches names over them). */
export async function allSubjects(env: Env, accountId: string): Promise<Subject[]> {
  return (await accountStore(env, accountId).listSubjects({ limit: 100, mode: "live" })).items;
}

/**
 * The subject a prompt is about: the one named by `subjectName`, else the one whose
 * name appears in the prompt, else (for a bare `{subject}`) the newest finalized one; the prompt comes back with `{subject}` in place of the
 * name, so it expands to the trained identifier.
 */
export function resolvePromptSubject(
  prompt: string,
  subjects: Subject[],
  subjectName?: string,
): { subject: Subject; prompt: string } {
  const byName = (name: string) => subjects.find((subject) => subject.name.toLowerCase() === name.trim().toLowerCase());
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const mention = (subject: Subject) => new RegExp(`(?<![\\p{L}\\p{N}])${escape(subject.name)}(?![\\p{L}\\p{N}])`, "iu");
  // A bare `{subject}` means the newest finalized subject; a name in the prompt picks that one.
  const subject = subjectName
    ? byName(subjectName)
    : (subjects.find((candidate) => mention(candidate).test(prompt)) ??
      (prompt.includes("{subject}") ? subjects.find((candidate) => candidate.status === "ready") : undefined));
  if (!subject) {
    const known = subjects.map((candidate) => candidate.name).join(", ") || "none yet — train one with /dreambooth train";
    throw new BotError(
      subjectName
        ? `No subject called "${subjectName}". Your subjects: ${known}.`
        : `Say which subject to draw: put {subject} or a subject's name in the prompt. Your subjects: ${known}.`,
    );
  }
  if (prompt.includes("{subject}")) return { subject, prompt };
  if (!mention(subject).test(prompt)) {
    throw new BotError(`Put {subject} or "${subject.name}" in the prompt where the subject should appear.`);
  }
  return { subject, prompt: prompt.replace(mention(subject), "{subject}") };
}

/** Starts a generation with the subject's newest succeeded training. */
export async function imagineFromChat(
  env: Env,
  accountId: string,
  request: { prompt: string; subject?: string; count?: number; seed?: number },
  origin: string,
  notify: ChatTarget,
): Promise<{ subject: Subject; generation: GenerationRecord }> {
  const { subject, prompt } = resolvePromptSubject(request.prompt, await allSubjects(env, accountId), request.subject);
  const trainings = (await accountStore(env, accountId).listTrainings({ limit: 50, mode: "live", subject_id: subject.id })).items;
  const trained = trainings.find((training) => training.status === "succeeded");
  if (!trained) {
    const running = trainings.find((training) => !["failed", "canceled"].includes(training.status));
    throw new BotError(
      running
        ? `${subject.name} is still training (${running.id}); I'll post here when it's done.`
        : `${subject.name} has no finished training yet; start one with /dreambooth train.`,
    );
  }
  const parsed = GenerationRequestSchema.safeParse({
    training_id: trained.id,
    prompt,
    ...(request.count ? { num_images: request.count } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
  });
  if (!parsed.success) throw new BotError(`That request isn't valid: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`);
  return { subject, generation: await startGeneration(botCaller(env, accountId), parsed.data, origin, { ...notify, subject_name: subject.name }) };
}

/** A short status report: one job by id, or the account's latest trainings and generations. */
export async function statusReport(env: Env, accountId: string, jobId?: string): Promise<string> {
  if (jobId) {
    const record = await jobStore(env, jobId.trim()).get();
    if (!record || record.account_id !== accountId || record.mode !== "live") throw new BotError(`No job ${jobId} on this account.`);
    return describeJob(record);
  }
  const store = accountStore(env, accountId);
  const trainings = (await store.listTrainings({ limit: 5, mode: "live" })).items;
  const generations = (await store.listGenerations({ limit: 5, mode: "live" })).items;
  if (trainings.length + generations.length === 0) return "No trainings or generations yet.";
  return [
    ...trainings.map((entry) => `• training ${entry.id}: ${entry.status}`),
    ...generations.map((entry) => `• generation ${entry.id}: ${entry.status}`),
  ].join("\n");
}

export function describeJob(record: TrainingRecord | GenerationRecord): string {
  const noun = record.kind === "train" ? "Training" : "Generation";
  const { phase, step, total_steps } = record.progress;
  const progress = total_steps > 0 ? ` (${phase ?? "step"} ${step}/${total_steps})` : "";
  const error = record.error ? `: ${record.error.message}` : "";
  return `${noun} ${record.id} is ${record.status}${progress}${error}`;
}

export async function subjectsReport(env: Env, accountId: string): Promise<string> {
  const subjects = await allSubjects(env, accountId);
  if (subjects.length === 0) return "No subjects yet; train one with /dreambooth train.";
  return subjects.map((subject) => `• ${subject.name} (${subject.class_noun}, ${subject.status})`).join("\n");
}
