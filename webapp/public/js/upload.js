// @ts-check
/**
 * Uploading one photo straight to storage through its signed PUT URL. It uses
 * `XMLHttpRequest` because `fetch` still reports no upload progress; the URL's
 * signature is the whole authorization, so no API key is sent with the bytes,
 * and the headers the signature covers (the Content-Type) are sent exactly as
 * the service listed them.
 */

/**
 * @typedef {{ name: string, url: string, method: "PUT", headers: Record<string, string>, expires_at: number }} UploadUrl
 */

/**
 * @param {UploadUrl} upload
 * @param {Blob} file
 * @param {(fraction: number) => void} onProgress  0..1 as bytes leave the browser
 * @returns {Promise<void>}
 */
export function putToSignedUrl(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(upload.method, upload.url);
    for (const [name, value] of Object.entries(upload.headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new Error(`upload of ${upload.name} failed: ${request.status} ${uploadErrorMessage(request.responseText)}`));
      }
    });
    request.addEventListener("error", () => reject(new Error(`upload of ${upload.name} failed: network error`)));
    request.send(file);
  });
}

/** @param {string} body */
function uploadErrorMessage(body) {
  try {
    return JSON.parse(body).error.message;
  } catch {
    return "";
  }
}

/**
 * Runs `task` over `items` with at most `limit` at a time, so twenty photos do
 * not open twenty connections at once on a phone. After a failure no new task
 * starts (those running finish), and the first failure is what it rejects with.
 * @template T
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T) => Promise<void>} task
 */
export async function eachWithLimit(items, limit, task) {
  const queue = [...items];
  let failed = false;
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined && !failed; item = queue.shift()) {
      try {
        await task(item);
      } catch (failure) {
        failed = true;
        throw failure;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, queue.length) }, worker));
  const rejected = outcomes.find((outcome) => outcome.status === "rejected");
  if (rejected) throw rejected.reason;
}
