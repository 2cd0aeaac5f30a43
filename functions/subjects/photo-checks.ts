/**
 * The checks `finalize` runs on a subject's photo set before anyone pays for a
 * training, as pure functions over the files' bytes. Formats are recognised by
 * magic bytes (a declared Content-Type proves nothing), dimensions come from the
 * headers alone via `image-size` (a Worker must not decode a 10 MB image, let alone
 * a decompression bomb whose header claims 100000×100000), and completeness is
 * judged by walking the container structure (PNG chunks, JPEG markers, RIFF size)
 * without decoding pixels. Every problem of every photo is collected, so a client
 * fixes its whole set in one round.
 */
import type { z } from "@hono/zod-openapi";
import { imageSize } from "image-size";
import type { IssueSchema, PHOTO_FORMATS, PhotoReportSchema, PhotoSetReportSchema } from "./schemas.js";

export type PhotoFormat = (typeof PHOTO_FORMATS)[number];
export type Issue = z.infer<typeof IssueSchema>;
export type PhotoReport = z.infer<typeof PhotoReportSchema>;
export type PhotoSetReport = z.infer<typeof PhotoSetReportSchema>;

export const PHOTO_RULES = {
  minPhotos: 3,
  maxPhotos: 20,
  maxBytes: 10 * 1024 * 1024,
  /** Below this the model learns too little of the subject (diffusers scripts train at 512). */
  minSide: 256,
  recommendedSide: 512,
  /** Bounds a decoder's work on the GPU host: 12000 px a side, 50 megapixels (a 48 MP phone photo fits). */
  maxSide: 12_000,
  maxPixels: 50_000_000,
} as const;

export const CONTENT_TYPES: Record<PhotoFormat, string> = { jpeg: "image/jpeg", png: "image/png", webp: "image/webp" };

export interface PhotoFile {
  name: string;
  size: number;
  /** The file's bytes; absent when it was too large to read. */
  bytes?: Uint8Array;
  sha256?: string;
}

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

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Checks one photo on its own (everything but duplicates, which need the set). */
export function checkPhoto(file: PhotoFile): PhotoReport {
  const report: PhotoReport = { name: file.name, ok: false, size: file.size, sha256: file.sha256, problems: [], warnings: [] };
  const problem = (code: string, message: string) => report.problems.push({ code, message });
  if (file.size > PHOTO_RULES.maxBytes || !file.bytes) {
    problem("file_too_large", `${megabytes(file.size)} exceeds the ${megabytes(PHOTO_RULES.maxBytes)} limit`);
    return report;
  }
  const format = sniffFormat(file.bytes);
  if (!format) {
    problem("unsupported_format", "Not a JPEG, PNG or WebP file (judged by its first bytes)");
    return report;
  }
  report.format = format;
  const dimensions = headerDimensions(format, file.bytes);
  if (!dimensions) problem("unreadable_header", `The ${format.toUpperCase()} header is damaged or missing its size`);
  if (!isComplete(format, file.bytes)) problem("truncated", `The ${format.toUpperCase()} file ends early (incomplete upload?)`);
  if (dimensions) {
    const { width, height } = dimensions;
    Object.assign(report, { width, height });
    const shortest = Math.min(width, height);
    if (Math.max(width, height) > PHOTO_RULES.maxSide || width * height > PHOTO_RULES.maxPixels) {
      problem(
        "dimensions_too_large",
        `${width}×${height} exceeds ${PHOTO_RULES.maxSide} px a side or ${PHOTO_RULES.maxPixels / 1e6} megapixels`,
      );
    } else if (shortest < PHOTO_RULES.minSide) {
      problem("too_small", `Shortest side ${shortest} px is below the ${PHOTO_RULES.minSide} px minimum`);
    } else if (shortest < PHOTO_RULES.recommendedSide) {
      report.warnings.push({
        code: "low_resolution",
        message: `Shortest side ${shortest} px is below the recommended ${PHOTO_RULES.recommendedSide} px`,
      });
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** Checks the whole set: each photo, exact duplicates (same sha256), and the count. */
export function checkPhotoSet(files: PhotoFile[]): PhotoSetReport {
  const firstWithHash = new Map<string, string>();
  const photos = files.map((file) => {
    const report = checkPhoto(file);
    if (file.sha256) {
      const original = firstWithHash.get(file.sha256);
      if (original) {
        report.problems.push({ code: "duplicate", message: `Identical to ${original}` });
        report.ok = false;
      } else firstWithHash.set(file.sha256, file.name);
    }
    return report;
  });
  const problems: Issue[] = [];
  if (files.length < PHOTO_RULES.minPhotos) {
    problems.push({ code: "too_few_photos", message: `${files.length} photos; upload at least ${PHOTO_RULES.minPhotos}` });
  }
  if (files.length > PHOTO_RULES.maxPhotos) {
    problems.push({ code: "too_many_photos", message: `${files.length} photos; at most ${PHOTO_RULES.maxPhotos} are used` });
  }
  return { ok: problems.length === 0 && photos.every((photo) => photo.ok), problems, photos };
}
