/**
 * Copies one file Replicate produced into R2 as it downloads. Replicate deletes
 * API outputs about an hour after a job ends, so we take them at once and our
 * artifact records only ever point at R2. Weights tarballs run to hundreds of
 * megabytes, more than a Worker may hold, so the body is streamed: one branch into
 * R2 (whose `put` needs the length up front, hence `FixedLengthStream`), the other
 * through a SHA-256 digest stream for the artifact record.
 */
export interface CopiedObject {
  sha256: string;
  size: number;
}

/** A download that failed; `gone` when the file no longer exists (Replicate removed it). */
export class DownloadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "DownloadError";
  }

  get gone(): boolean {
    return this.status === 404 || this.status === 410;
  }
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A small output (an image), whole. */
export async function downloadBytes(url: string, fetcher: typeof fetch = fetch): Promise<Uint8Array> {
  const response = await fetcher(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new DownloadError(response.status, `downloading ${url} answered ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

export async function copyUrlToR2(
  bucket: R2Bucket,
  url: string,
  key: string,
  contentType: string,
  fetcher: typeof fetch = fetch,
): Promise<CopiedObject> {
  const response = await fetcher(url);
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new DownloadError(response.status, `downloading ${url} answered ${response.status}`);
  }
  const length = Number(response.headers.get("content-length"));
  const httpMetadata = { contentType };
  if (!Number.isInteger(length) || length < 0) {
    // Without a declared length R2 cannot take a stream; such outputs (images) are small.
    const bytes = await response.arrayBuffer();
    await bucket.put(key, bytes, { httpMetadata });
    return { sha256: hex(await crypto.subtle.digest("SHA-256", bytes)), size: bytes.byteLength };
  }
  const [toBucket, toDigest] = response.body.tee();
  const fixed = new FixedLengthStream(length);
  const digest = new crypto.DigestStream("SHA-256");
  await Promise.all([
    bucket.put(key, fixed.readable, { httpMetadata }),
    toBucket.pipeTo(fixed.writable),
    toDigest.pipeTo(digest),
  ]);
  return { sha256: hex(await digest.digest), size: length };
}
