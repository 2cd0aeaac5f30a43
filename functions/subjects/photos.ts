/**
 * A subject's photos: stored one at a time (through the Worker) or uploaded
 * straight to storage with signed PUT URLs, then finalized: the whole set is
 * checked and its manifest recorded, which trainings read. Every write path asks
 * `admitPhotoWrite` first: a finalized subject takes no more photos (409), and a
 * draft holds at most `PHOTO_RULES.maxPhotos` (a photo replaced under its own name
 * does not count twice). Finalize of a finalized subject answers what it answered
 * then and changes nothing, so a retried finalize is safe.
 */
import { r2Keys, toHex } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import type { Caller } from "../caller.js";
import { ApiError } from "../errors.js";
import { signObjectUrl } from "../storage/signed-urls.js";
import { CONTENT_TYPES, type PhotoFormat } from "./image-format.js";
import { findSubject } from "./lookup.js";
import { checkPhotoSet, PHOTO_RULES, type PhotoSetReport } from "./photo-checks.js";
import { listPhotoObjects, photoPrefix, readPhoto } from "./read-photos.js";
import type { Photo, Subject } from "./schemas.js";

function refuseFinalized(subject: Subject): void {
  if (subject.status !== "draft") {
    throw new ApiError(409, "subject_finalized", `Subject ${subject.id} is finalized; create a new subject to change its photos`);
  }
}

/**
 * May these names be written into the subject now? It must be a draft, and the
 * photos it would hold afterwards (stored ones plus new names) must stay within the limit.
 */
async function admitPhotoWrite(env: Env, accountId: string, subject: Subject, names: string[]): Promise<void> {
  refuseFinalized(subject);
  const subjectId = subject.id;
  const prefix = photoPrefix(accountId, subjectId);
  const stored = new Set((await listPhotoObjects(env.BUCKET, accountId, subjectId)).map((object) => object.key.slice(prefix.length)));
  const added = new Set(names.filter((name) => !stored.has(name))).size;
  if (stored.size + added > PHOTO_RULES.maxPhotos) {
    throw new ApiError(
      409,
      "too_many_photos",
      `A subject holds at most ${PHOTO_RULES.maxPhotos} photos; it has ${stored.size} and this would add ${added}. Delete some first.`,
      { stored: stored.size, adding: added, limit: PHOTO_RULES.maxPhotos },
    );
  }
}

/**
 * The same admission for a PUT through a Worker-signed URL: the URL's key names the
 * account and subject, and the URL was issued to a key of the subject's own mode.
 */
export async function admitSignedPhotoWrite(env: Env, accountId: string, subjectId: string, name: string): Promise<void> {
  const subject = await accountStore(env, accountId).getSubject(subjectId);
  if (!subject) throw new ApiError(404, "not_found", `No subject ${subjectId}`);
  await admitPhotoWrite(env, accountId, subject, [name]);
}

/** Stores one photo of a draft subject (its format already judged by its first bytes). */
export async function storePhoto(caller: Caller, subjectId: string, name: string, bytes: Uint8Array, format: PhotoFormat) {
  const { env, accountId } = caller;
  await admitPhotoWrite(env, accountId, await findSubject(caller, subjectId), [name]);
  await env.BUCKET.put(r2Keys.photo(accountId, subjectId, name), bytes, { httpMetadata: { contentType: CONTENT_TYPES[format] } });
  return { name, size: bytes.length, sha256: toHex(await crypto.subtle.digest("SHA-256", bytes)) };
}

/** Removes one photo of a draft subject; 404 when it holds no photo of that name. */
export async function deletePhoto(caller: Caller, subjectId: string, name: string): Promise<{ name: string; deleted: true }> {
  const { env, accountId } = caller;
  refuseFinalized(await findSubject(caller, subjectId));
  const key = r2Keys.photo(accountId, subjectId, name);
  if (!(await env.BUCKET.head(key))) throw new ApiError(404, "not_found", `Subject ${subjectId} has no photo ${name}`);
  await env.BUCKET.delete(key);
  return { name, deleted: true };
}

/**
 * Signed PUT URLs, one per file, for a client to upload a draft subject's photos
 * straight to storage. Each URL is bound to its size: exactly the declared `size`
 * when the client gives one (R2 signs it as Content-Length), else at most
 * `PHOTO_RULES.maxBytes` (Worker-signed URLs carry and enforce it).
 */
export async function photoUploadUrls(
  caller: Caller,
  subjectId: string,
  files: { name: string; content_type: string; size?: number }[],
  expiresInS: number,
  origin: string,
) {
  const { env, accountId } = caller;
  await admitPhotoWrite(env, accountId, await findSubject(caller, subjectId), files.map((file) => file.name));
  return Promise.all(
    files.map(async (file) => ({
      name: file.name,
      ...(await signObjectUrl(env, origin, {
        method: "PUT",
        key: r2Keys.photo(accountId, subjectId, file.name),
        expiresInS,
        contentType: file.content_type,
        size: file.size,
        maxBytes: PHOTO_RULES.maxBytes,
      })),
      method: "PUT" as const,
    })),
  );
}

/** The report finalize gave for an accepted set, rebuilt from the manifest it recorded. */
export function acceptedReport(photos: Photo[]): PhotoSetReport {
  return {
    ok: true,
    problems: [],
    photos: photos.map(({ name, size, sha256, format, width, height, warnings }) => ({
      name,
      ok: true,
      size,
      sha256,
      format,
      width,
      height,
      problems: [],
      warnings,
    })),
  };
}

/** Checks a subject's uploaded photos and, when they pass, records the manifest; else a 422 naming every problem. */
export async function finalizePhotos(caller: Caller, id: string): Promise<{ subject: Subject; report: PhotoSetReport }> {
  const { env, accountId } = caller;
  const existing = await findSubject(caller, id);
  if (existing.status === "ready") return { subject: existing, report: acceptedReport(existing.photos) };
  const objects = await listPhotoObjects(env.BUCKET, accountId, id);
  // Far too many files is answered from the listing alone, without reading any of them.
  if (objects.length > 2 * PHOTO_RULES.maxPhotos) {
    const message = `${objects.length} photos; at most ${PHOTO_RULES.maxPhotos} are used`;
    throw new ApiError(422, "photos_rejected", message, { ok: false, problems: [{ code: "too_many_photos", message }], photos: [] });
  }
  const files = [];
  for (const object of objects) files.push(await readPhoto(env.BUCKET, object, photoPrefix(accountId, id)));
  const report = checkPhotoSet(files);
  if (!report.ok) {
    const rejected = report.photos.filter((photo) => !photo.ok).length;
    const message = `Photo set rejected: ${[...report.problems.map((problem) => problem.message), `${rejected} photo(s) with problems`].join("; ")}`;
    throw new ApiError(422, "photos_rejected", message, report);
  }
  const photos = report.photos.map((photo) => ({
    name: photo.name,
    format: photo.format!,
    content_type: CONTENT_TYPES[photo.format!],
    size: photo.size,
    sha256: photo.sha256!,
    width: photo.width!,
    height: photo.height!,
    warnings: photo.warnings,
  }));
  const subject = await accountStore(env, accountId).finalizeSubject(id, photos, Date.now());
  if (!subject) throw new ApiError(404, "not_found", `No subject ${id}`);
  return { subject, report };
}
