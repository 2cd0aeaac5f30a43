/**
 * Reads a subject's uploaded photos from R2 for `finalize`: one object at a time,
 * each at most `PHOTO_RULES.maxBytes` in memory, with its sha256. Oversized
 * objects are reported from their listed size and never read.
 */
import { r2Keys, toHex } from "../../shared/index.js";
import { type PhotoFile, PHOTO_RULES } from "./photo-checks.js";

export function photoPrefix(accountId: string, subjectId: string): string {
  return r2Keys.photo(accountId, subjectId, "");
}

export async function listPhotoObjects(bucket: R2Bucket, accountId: string, subjectId: string): Promise<R2Object[]> {
  const objects: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix: photoPrefix(accountId, subjectId), cursor });
    objects.push(...listing.objects);
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);
  return objects;
}

export async function readPhoto(bucket: R2Bucket, object: R2Object, prefix: string): Promise<PhotoFile> {
  const name = object.key.slice(prefix.length);
  if (object.size > PHOTO_RULES.maxBytes) return { name, size: object.size };
  const body = await bucket.get(object.key);
  if (!body) return { name, size: object.size, bytes: new Uint8Array() };
  const bytes = new Uint8Array(await body.arrayBuffer());
  return { name, size: bytes.length, bytes, sha256: toHex(await crypto.subtle.digest("SHA-256", bytes)) };
}
