/**
 * Byte-level facts about an image file, read without decoding a pixel: its format
 * by magic bytes, its dimensions from the header (`image-size`), and whether its
 * container is complete (PNG chunks up to IEND, JPEG markers up to the scan and an
 * EOI after it, the RIFF size of a WebP). Cheap enough for a Worker on 10 MB files.
 */
import { imageSize } from "image-size";
import type { PHOTO_FORMATS } from "./schemas.js";

export type PhotoFormat = (typeof PHOTO_FORMATS)[number];

export const CONTENT_TYPES: Record<PhotoFormat, string> = { jpeg: "image/jpeg", png: "image/png", webp: "image/webp" };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[], offset = 0): boolean {
  return prefix.every((byte, i) => bytes[offset + i] === byte);
}

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

export function sniffFormat(bytes: Uint8Array): PhotoFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  return null;
}

const readU32BE = (bytes: Uint8Array, at: number) =>
  ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;

/** PNG: every chunk fits in the file and the last one read is IEND. */
function pngIsComplete(bytes: Uint8Array): boolean {
  let at = PNG_SIGNATURE.length;
  while (at + 12 <= bytes.length) {
    const length = readU32BE(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    at += 12 + length;
    if (at > bytes.length) return false;
    if (type === "IEND") return true;
  }
  return false;
}

/**
 * JPEG: the marker segments up to the scan fit in the file, and an EOI marker
 * follows the scan. EOI need not be last: phones append data after it (motion photos).
 */
function jpegIsComplete(bytes: Uint8Array): boolean {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (marker === 0xda) {
      for (let i = at + 2 + length; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
      return false;
    }
    at += 2 + length;
  }
  return false;
}

/** WebP: the file holds at least as many bytes as its RIFF header declares. */
function webpIsComplete(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const riffSize = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0;
  return riffSize + 8 <= bytes.length;
}

export function isComplete(format: PhotoFormat, bytes: Uint8Array): boolean {
  if (format === "png") return pngIsComplete(bytes);
  if (format === "jpeg") return jpegIsComplete(bytes);
  return webpIsComplete(bytes);
}

const IMAGE_SIZE_TYPES: Record<PhotoFormat, string> = { jpeg: "jpg", png: "png", webp: "webp" };

/** Width and height from the header, or null when the header cannot be read. */
export function headerDimensions(format: PhotoFormat, bytes: Uint8Array): { width: number; height: number } | null {
  // image-size reads through the underlying ArrayBuffer, so a view into a larger buffer would let it read past the file.
  const exact = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  try {
    const size = imageSize(exact);
    if (size.type !== IMAGE_SIZE_TYPES[format] || !size.width || !size.height) return null;
    return { width: size.width, height: size.height };
  } catch {
    return null;
  }
}

/** Bytes needed to tell every format we accept or name apart (RIFF….WEBP, ….ftyp<brand>). */
export const SNIFF_BYTES = 12;

const OTHER_FORMATS: [string, (bytes: Uint8Array) => boolean][] = [
  ["GIF", (bytes) => startsWith(bytes, ascii("GIF8"))],
  ["BMP", (bytes) => startsWith(bytes, ascii("BM"))],
  ["TIFF", (bytes) => startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])],
  ["HEIC", (bytes) => startsWith(bytes, ascii("ftyp"), 4) && ["heic", "heix", "mif1", "msf1"].some((brand) => startsWith(bytes, ascii(brand), 8))],
  ["AVIF", (bytes) => startsWith(bytes, ascii("ftyp"), 4) && ["avif", "avis"].some((brand) => startsWith(bytes, ascii(brand), 8))],
  ["PDF", (bytes) => startsWith(bytes, ascii("%PDF"))],
  ["ZIP", (bytes) => startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])],
  ["GZIP", (bytes) => startsWith(bytes, [0x1f, 0x8b])],
];

/** A name for what a non-photo file looks like, for the 415 that refuses it. */
export function describeFormat(bytes: Uint8Array): string {
  const known = OTHER_FORMATS.find(([, matches]) => matches(bytes));
  if (known) return known[0];
  if (bytes.length === 0) return "nothing (an empty body)";
  const text = bytes.subarray(0, SNIFF_BYTES).every((byte) => byte === 0x09 || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f));
  return text ? "text" : "unrecognised binary data";
}
