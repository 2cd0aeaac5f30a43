/**
 * Reading an uploaded photo as it arrives: its first bytes say whether it is a
 * JPEG, PNG or WebP, and anything else is refused at once (415, naming what it
 * looks like) with the rest of the body thrown away unstored, instead of being stored
 * and turned away only at finalize. The stream it reads is already size-capped
 * (`limitedStream`), so the bytes held are at most one photo.
 */
import { concatBytes } from "../bytes.js";
import { ApiError } from "../errors.js";
import { describeFormat, SNIFF_BYTES, sniffFormat, type PhotoFormat } from "./image-format.js";

export async function readPhotoStream(body: ReadableStream<Uint8Array>): Promise<{ bytes: Uint8Array; format: PhotoFormat }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let format: PhotoFormat | null = null;
  for (let chunk = await reader.read(); ; chunk = await reader.read()) {
    if (!chunk.done) {
      chunks.push(chunk.value);
      size += chunk.value.byteLength;
    }
    if (format === null && (size >= SNIFF_BYTES || chunk.done)) {
      const head = concatBytes(chunks).subarray(0, SNIFF_BYTES);
      const sniffed = sniffFormat(head);
      if (!sniffed) {
        await reader.cancel("not an image").catch(() => {});
        const seen = describeFormat(head);
        throw new ApiError(415, "unsupported_image_format", `Not a JPEG, PNG or WebP photo: the bytes look like ${seen}`, { seen });
      }
      format = sniffed;
    }
    if (chunk.done && format) return { bytes: concatBytes(chunks), format };
  }
}
