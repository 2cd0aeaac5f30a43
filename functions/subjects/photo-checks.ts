/**
 * The checks `finalize` runs on a subject's photo set before anyone pays for a
 * training, as pure functions over the files' bytes. Formats are recognised by
 * magic bytes (a declared Content-Type proves nothing) and dimensions come from
 * the headers alone (`image-format.ts`): a Worker must not decode a 10 MB image,
 * let alone a decompression bomb whose header claims 100000×100000. Every problem
 * of every photo is collected, so a client fixes its whole set in one round.
 */
import type { z } from "@hono/zod-openapi";
import { headerDimensions, isComplete, sniffFormat } from "./image-format.js";
import type { IssueSchema, PhotoReportSchema, PhotoSetReportSchema } from "./schemas.js";

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

export interface PhotoFile {
  name: string;
  size: number;
  /** The file's bytes; absent when it was too large to read. */
  bytes?: Uint8Array;
  sha256?: string;
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
