/**
 * A subject's photos: stored one at a time (through the Worker) or uploaded
 * straight to storage with signed PUT URLs, then finalized: the whole set is
 * checked and its manifest recorded, which trainings read. A finalized subject
 * takes no more photos, so the set a training ran on is the set that was checked.
 */
import { r2Keys, toHex } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { ApiError } from "../errors.js";
import { signObjectUrl } from "../storage/signed-urls.js";
import { CONTENT_TYPES } from "./image-format.js";
import { findSubject } from "./lookup.js";
import { checkPhotoSet, PHOTO_RULES, type PhotoSetReport } from "./photo-checks.js";
import { listPhotoObjects, photoPrefix, readPhoto } from "./read-photos.js";
import type { Subject } from "./schemas.js";

async function draftSubject(env: Env, accountId: string, subjectId: string): Promise<Subject> {
  const subject = await findSubject(env, accountId, subjectId);
  if (subject.status !== "draft") {
    throw new ApiError(409, "subject_finalized", `Subject ${subject.id} is finalized; create a new subject to change its photos`);
  }
  return subject;
}

/** Stores one photo of a draft subject. */
export async function storePhoto(env: Env, accountId: string, subjectId: string, name: string, bytes: Uint8Array, contentType: string) {
  await draftSubject(env, accountId, subjectId);
  await env.BUCKET.put(r2Keys.photo(accountId, subjectId, name), bytes, { httpMetadata: { contentType } });
  return { name, size: bytes.length, sha256: toHex(await crypto.subtle.digest("SHA-256", bytes)) };
}

/** Signed PUT URLs, one per file, for a client to upload a draft subject's photos straight to storage. */
export async function photoUploadUrls(
  env: Env,
  accountId: string,
  subjectId: string,
  files: { name: string; content_type: string }[],
  expiresInS: number,
  origin: string,
) {
  await draftSubject(env, accountId, subjectId);
  return Promise.all(
    files.map(async (file) => ({
      name: file.name,
      ...(await signObjectUrl(env, origin, {
        method: "PUT",
        key: r2Keys.photo(accountId, subjectId, file.name),
        expiresInS,
        contentType: file.content_type,
      })),
      method: "PUT" as const,
    })),
  );
}

/** Checks a subject's uploaded photos and, when they pass, records the manifest; else a 422 naming every problem. */
export async function finalizePhotos(env: Env, accountId: string, id: string): Promise<{ subject: Subject; report: PhotoSetReport }> {
  await findSubject(env, accountId, id);
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
