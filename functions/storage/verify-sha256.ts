/**
 * A byte stream that is checked against the SHA-256 a manifest recorded for it,
 * as it passes: the bytes flow on unchanged and the stream errors at its end if
 * the digest differs. A file replaced after it was checked (same name, even the
 * same size) then cannot reach a consumer as if it were the checked one.
 * `crypto.DigestStream` is workerd's incremental digest, so nothing is buffered.
 */
import { toHex } from "../../shared/index.js";

export function verifiedSha256(body: ReadableStream<Uint8Array>, expectedSha256: string, name: string): ReadableStream<Uint8Array> {
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await writer.write(chunk);
        controller.enqueue(chunk);
      },
      async flush() {
        await writer.close();
        const actual = toHex(await digest.digest);
        if (actual !== expectedSha256) throw new Error(`${name} changed since it was checked (sha256 ${actual}, recorded ${expectedSha256})`);
      },
    }),
  );
}
