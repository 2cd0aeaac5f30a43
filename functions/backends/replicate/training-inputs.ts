/**
 * The one file a Replicate trainer reads: the subject's photos as a zip behind a
 * short-lived signed GET URL. The photos are streamed from R2 into a stored zip
 * written back to R2 under the training's own prefix (so deleting the account
 * deletes it too), then signed like any other object the Worker hands out.
 *
 * The job message carries the photos as signed URLs we minted moments ago; their
 * path is the object key in both signing modes (`/files/<key>` on the Worker,
 * `/<bucket>/<key>` on R2's S3 endpoint), so we read the object from the binding
 * directly. A URL of any other shape is simply fetched. Each photo is checked
 * against the SHA-256 finalize recorded as it streams into the zip, so a photo
 * replaced in storage after finalize (even by one of the same size) aborts the
 * archive instead of reaching the trainer.
 */
import { r2Keys, type InputFile } from "../../../shared/index.js";
import type { Secrets } from "../../secrets.js";
import { signObjectUrl } from "../../storage/signed-urls.js";
import { verifiedSha256 } from "../../storage/verify-sha256.js";
import { zipStore, type ZipEntry } from "./zip-store.js";

type SigningEnv = Parameters<typeof signObjectUrl>[0];

/** The R2 key a signed URL of ours points at, or null when the URL is not one of ours. */
export function objectKeyOfSignedUrl(url: string, bucketName: string | undefined): string | null {
  const parsed = new URL(url);
  const decode = (path: string) => path.split("/").map(decodeURIComponent).join("/");
  if (parsed.pathname.startsWith("/files/")) return decode(parsed.pathname.slice("/files/".length));
  if (bucketName && parsed.hostname.endsWith(".r2.cloudflarestorage.com") && parsed.pathname.startsWith(`/${bucketName}/`)) {
    return decode(parsed.pathname.slice(bucketName.length + 2));
  }
  return null;
}

/** The account a tenant key belongs to (`accounts/<id>/…`). */
export function accountOfKey(key: string | null): string | null {
  return key?.match(/^accounts\/([^/]+)\//)?.[1] ?? null;
}

function zipEntry(bucket: R2Bucket, bucketName: string | undefined, input: InputFile): ZipEntry {
  return {
    name: input.name,
    size: input.size,
    async open() {
      const key = objectKeyOfSignedUrl(input.url, bucketName);
      const body = key ? (await bucket.get(key))?.body : (await fetch(input.url)).body;
      if (!body) throw new Error(`photo ${input.name} is missing from storage`);
      return verifiedSha256(body, input.sha256, `photo ${input.name}`);
    },
  };
}

export interface TrainingZip {
  key: string;
  url: string;
  accountId: string;
}

/** Writes (once per job) the photos zip and returns a fresh signed URL to it. */
export async function trainingZip(
  env: SigningEnv & Secrets & { BUCKET: R2Bucket },
  job: { job_id: string; inputs: InputFile[]; origin: string; ttlS: number },
): Promise<TrainingZip> {
  const accountId = accountOfKey(objectKeyOfSignedUrl(job.inputs[0]!.url, env.R2_BUCKET_NAME));
  if (!accountId) throw new Error("the job's photos are not account objects of this deployment");
  const key = r2Keys.trainingFile(accountId, job.job_id, "inputs/photos.zip");
  if (!(await env.BUCKET.head(key))) {
    const { stream, length } = zipStore(job.inputs.map((input) => zipEntry(env.BUCKET, env.R2_BUCKET_NAME, input)));
    const fixed = new FixedLengthStream(length);
    await Promise.all([
      env.BUCKET.put(key, fixed.readable, { httpMetadata: { contentType: "application/zip" } }),
      stream.pipeTo(fixed.writable),
    ]);
  }
  const signed = await signObjectUrl(env, job.origin, { method: "GET", key, expiresInS: job.ttlS });
  return { key, url: signed.url, accountId };
}
