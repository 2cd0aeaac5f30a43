// @ts-check
/**
 * The photo set as the browser sees it before upload: which files can be sent
 * at all (type, size, count), and the storage-safe name each gets. Pure, so the
 * rules are tested without a browser; the service's `finalize` report remains
 * the judge of the photos themselves (dimensions, duplicates, damaged files).
 */

/** The service's limits (functions/subjects/photo-checks.ts PHOTO_RULES). */
export const PHOTO_LIMITS = { minPhotos: 3, maxPhotos: 20, maxBytes: 10 * 1024 * 1024 };

/** @type {Record<string, string>} content type → file extension */
export const ACCEPTED_TYPES = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp" };

/**
 * A name the photo name schema accepts (`[A-Za-z0-9][A-Za-z0-9._-]*`): a running
 * number keeps names unique and in the user's order, the original stem keeps them
 * recognisable in the report.
 * @param {number} index 0-based position in the set
 * @param {string} fileName
 * @param {string} contentType
 */
export function photoName(index, fileName, contentType) {
  const stem = fileName
    .replace(/\.[^.]*$/, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+|[-.]+$/g, "")
    .slice(0, 60);
  const number = String(index + 1).padStart(2, "0");
  return `${number}${stem ? `-${stem}` : ""}.${ACCEPTED_TYPES[contentType] ?? "bin"}`;
}

/**
 * Why a file cannot be uploaded at all, or null when it can.
 * @param {{ type: string, size: number }} file
 */
export function uploadBlocker(file) {
  if (!(file.type in ACCEPTED_TYPES)) return `${file.type || "This file type"} is not supported; use JPEG, PNG or WebP`;
  if (file.size > PHOTO_LIMITS.maxBytes) return `${(file.size / 1048576).toFixed(1)} MB is over the 10 MB limit`;
  return null;
}

/**
 * What stops the set from being uploaded, or null when it can go.
 * @param {number} count uploadable photos selected
 */
export function setBlocker(count) {
  if (count < PHOTO_LIMITS.minPhotos) return `Add at least ${PHOTO_LIMITS.minPhotos} photos (${count} so far)`;
  if (count > PHOTO_LIMITS.maxPhotos) return `At most ${PHOTO_LIMITS.maxPhotos} photos are used; remove ${count - PHOTO_LIMITS.maxPhotos}`;
  return null;
}
