/**
 * summary.json: the benchmark's result in a shape scripts can read without parsing the table — one row
 * per run kind with each measure's mean and sample standard deviation over subjects × training seeds,
 * the raw fidelity bounds of each subject (and the base model's raw score between them), and the wall
 * time. Reports without a normalised fidelity (no bounds) leave `fidelity_norm` out of the mean.
 */
import type { QualityReport } from "../../../shared/quality.js";
import { meanAndSpread } from "../../src/quality/metrics.js";
import { RUN_KINDS, type RunKey } from "./runs.js";

interface MeanSd {
  mean: number;
  sd: number;
}

export interface SummaryRow {
  run: RunKey;
  n: number;
  fidelity_norm: MeanSd | null;
  prompt_fidelity: MeanSd;
  pres: MeanSd;
  div: MeanSd;
  class_kept: MeanSd;
}

export interface BenchmarkSummary {
  rows: SummaryRow[];
  /** Per subject class: s_prior, s_ceiling and the base model's raw subject fidelity s_base. */
  bounds: Record<string, { prior: number; ceiling: number; base: number | null }>;
  wall_s: number;
}

const meanSd = (values: number[]): MeanSd => {
  const { mean, std } = meanAndSpread(values);
  return { mean, sd: std };
};

export function benchmarkSummary(reports: Partial<Record<RunKey, QualityReport[]>>, wallSeconds: number): BenchmarkSummary {
  const rows = RUN_KINDS.filter((kind) => reports[kind.key]?.length).map((kind): SummaryRow => {
    const list = reports[kind.key]!;
    const normalised = list.flatMap((report) => (report.subject_fidelity_normalized === undefined ? [] : [report.subject_fidelity_normalized]));
    return {
      run: kind.key,
      n: list.length,
      fidelity_norm: normalised.length > 0 ? meanSd(normalised) : null,
      prompt_fidelity: meanSd(list.map((report) => report.prompt_fidelity)),
      pres: meanSd(list.map((report) => report.prior_preservation_similarity)),
      div: meanSd(list.map((report) => report.diversity)),
      class_kept: meanSd(list.map((report) => report.class_recognized)),
    };
  });
  const bounds: BenchmarkSummary["bounds"] = {};
  for (const report of Object.values(reports).flat()) {
    if (!report?.fidelity_bounds || bounds[report.subject.class_noun]) continue;
    const base = reports.base?.find((candidate) => candidate.subject.class_noun === report.subject.class_noun);
    bounds[report.subject.class_noun] = { ...report.fidelity_bounds, base: base?.subject_fidelity ?? null };
  }
  return { rows, bounds, wall_s: Math.round(wallSeconds) };
}

/** The bounds as lines to print beside the table. */
export function boundsLines(summary: BenchmarkSummary): string[] {
  return Object.entries(summary.bounds).map(
    ([subject, { prior, ceiling, base }]) =>
      `- ${subject}: s_prior ${prior.toFixed(3)} (Noto's ${subject}, round-tripped), s_ceiling ${ceiling.toFixed(3)} (the round-tripped photos), s_base ${base === null ? "—" : base.toFixed(3)} (untrained model)`,
  );
}
