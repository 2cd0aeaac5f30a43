/**
 * Where in R2 an artifact a backend names lands. The backend only ever says
 * `ArtifactName`s; the Worker alone turns them into keys, so a backend can write
 * nowhere but under its own job — except `class-images`, the bundle shared by every
 * training of the same base model, class prompt, count and resolution.
 */
import { r2Keys, type ArtifactName } from "../../shared/index.js";
import type { JobRecord } from "./record.js";

/** The R2 key of `name` for this job, or null when the job may not write it. */
export function artifactKey(record: JobRecord, name: ArtifactName): string | null {
  if (name === "class-images") {
    if (record.kind !== "train" || !record.class_images_cache_key) return null;
    return r2Keys.classImages(record.base_model, record.class_images_cache_key);
  }
  return record.kind === "train"
    ? r2Keys.trainingFile(record.account_id, record.id, name)
    : r2Keys.generationFile(record.account_id, record.id, name);
}
