/**
 * The quality report a training job attaches to its artifacts (`reports/quality.json`) and to its
 * `succeeded` event: the subject evaluation of subject-report.ts, run on the job's own photos with the
 * weights as they are now. Only base models that ship a judge (a `judge/` folder next to `unet/`, as
 * the embedded tiny-emoji model does) can be graded, and only for class nouns and photo sizes the judge
 * knows; otherwise there is no report rather than a meaningless one. `trainingQuality` is the one
 * scoring function: best-checkpoint selection scores each checkpoint with it too. Subject fidelity is
 * reported normalised between its bounds (the class prior and the round-tripped photos, see
 * subject-report.ts) whenever the class is one the embedded emoji set draws.
 */
import { access } from "node:fs/promises";
import path from "node:path";
import { QUALITY_REPORT_NAME, type QualityReport } from "../../../shared/quality.js";
import type { Pixels } from "../dreambooth/images.js";
import type { StableDiffusion } from "../model/pipeline.js";
import type { Artifact } from "../jobs/context.js";
import type { Judge } from "./judge.js";
import { loadJudge } from "./judge-files.js";
import { DEFAULT_EVALUATION, evaluateSubject, type EvaluationOptions } from "./subject-report.js";

/** The resolution the judge was trained at (its scenes are 32×32). */
const JUDGE_RESOLUTION = 32;
const judges = new Map<string, Promise<Judge | undefined>>();

/** The judge shipped with a base model folder, loaded once per folder; undefined (and looked for again next time) when there is none. */
export function judgeFor(directory: string): Promise<Judge | undefined> {
  let judge = judges.get(directory);
  if (!judge) {
    const folder = path.join(directory, "judge");
    judge = access(path.join(folder, "config.json")).then(
      () => loadJudge(folder),
      () => {
        judges.delete(directory);
        return undefined;
      },
    );
    judges.set(directory, judge);
  }
  return judge;
}

/** The quality report of trained weights (also what checkpoint selection ranks by); undefined when they cannot be graded. */
export async function trainingQuality(
  model: StableDiffusion & { id: string; directory: string },
  photos: Pixels[],
  subject: QualityReport["subject"],
  evaluation: EvaluationOptions = DEFAULT_EVALUATION,
): Promise<QualityReport | undefined> {
  const judge = await judgeFor(model.directory);
  if (!judge || !judge.config.classes.includes(subject.class_noun)) return undefined;
  if (photos.some((photo) => photo.width !== JUDGE_RESOLUTION || photo.height !== JUDGE_RESOLUTION)) return undefined;
  return (await evaluateSubject(model, judge, photos, subject, model.id, evaluation)).report;
}

export function qualityReportArtifact(report: QualityReport): Artifact {
  return {
    name: QUALITY_REPORT_NAME,
    bytes: new TextEncoder().encode(JSON.stringify(report, null, 2)),
    contentType: "application/json",
    format: "report",
    meta: {
      subject_fidelity: report.subject_fidelity,
      prompt_fidelity: report.prompt_fidelity,
      ...(report.subject_fidelity_normalized !== undefined ? { subject_fidelity_normalized: report.subject_fidelity_normalized } : {}),
    },
  };
}
