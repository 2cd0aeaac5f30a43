/**
 * A training's quality report for GET /v1/trainings/:id: the one its `succeeded`
 * event carried (kept on the record), else the `reports/quality.json` artifact its
 * backend uploaded (DreamBench-style measures on the training's own subject, see
 * shared/quality.ts), for backends that only upload the file. A missing or malformed
 * file reads as null, so a backend's bad file can never turn the GET into a 5xx.
 */
import { QUALITY_REPORT_NAME, QualityReportSchema, r2Keys, type QualityReport } from "../../shared/index.js";
import type { TrainingRecord } from "./record.js";

export async function readQualityReport(bucket: R2Bucket, record: TrainingRecord): Promise<QualityReport | null> {
  if (record.quality) return record.quality;
  if (!record.artifacts.some((artifact) => artifact.name === QUALITY_REPORT_NAME)) return null;
  const object = await bucket.get(r2Keys.trainingFile(record.account_id, record.id, QUALITY_REPORT_NAME));
  if (!object) return null;
  try {
    const parsed = QualityReportSchema.safeParse(JSON.parse(await object.text()));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
