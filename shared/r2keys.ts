/**
 * The whole R2 key scheme in small pure functions. Tenant data lives under
 * `accounts/{account}/…`, so deleting or listing an account's objects is one
 * prefix; class-image bundles are shared across accounts because they are made
 * from the base model and the class prompt alone, never from a customer's photos.
 */
import { toHex } from "./signing.js";

export const r2Keys = {
  accountPrefix: (accountId: string) => `accounts/${accountId}/`,
  subjectPrefix: (accountId: string, subjectId: string) => `accounts/${accountId}/subjects/${subjectId}/`,
  photo: (accountId: string, subjectId: string, name: string) =>
    `accounts/${accountId}/subjects/${subjectId}/photos/${name}`,
  trainingPrefix: (accountId: string, trainingId: string) => `accounts/${accountId}/trainings/${trainingId}/`,
  /** `name` is an ArtifactName other than `class-images` (artifacts/…, samples/…, checkpoints/…, reports/…). */
  trainingFile: (accountId: string, trainingId: string, name: string) =>
    `accounts/${accountId}/trainings/${trainingId}/${name}`,
  generationPrefix: (accountId: string, generationId: string) => `accounts/${accountId}/generations/${generationId}/`,
  generationFile: (accountId: string, generationId: string, name: string) =>
    `accounts/${accountId}/generations/${generationId}/${name}`,
  classImages: (baseModel: string, cacheKey: string) => `class-images/${baseModel}/${cacheKey}.bundle`,
  /** Written once a bundle is complete (sha256, size); its presence is what makes the cache a hit. */
  classImagesManifest: (baseModel: string, cacheKey: string) => `class-images/${baseModel}/${cacheKey}.json`,
  baseModelFile: (baseModel: string, path: string) => `models/${baseModel}/${path}`,
};

const PHOTO_KEY = /^accounts\/([^/]+)\/subjects\/([^/]+)\/photos\/([^/]+)$/;

/** The account, subject and name a photo key was made from, or null for any other key. */
export function photoKeyParts(key: string): { accountId: string; subjectId: string; name: string } | null {
  const match = PHOTO_KEY.exec(key);
  return match ? { accountId: match[1], subjectId: match[2], name: match[3] } : null;
}

/** Photo and artifact file names: one path segment of safe characters. */
export const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/;

/**
 * Cache key of a class-image set: the same base model, class prompt, count and
 * resolution always give the same key, so a second subject of a class reuses it.
 */
export async function classImagesCacheKey(parts: {
  baseModel: string;
  classPrompt: string;
  count: number;
  resolution: number;
}): Promise<string> {
  const canonical = JSON.stringify([parts.baseModel, parts.classPrompt.trim().toLowerCase(), parts.count, parts.resolution]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return toHex(digest).slice(0, 32);
}
