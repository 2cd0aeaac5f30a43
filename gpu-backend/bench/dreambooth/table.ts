/**
 * The benchmark's table: one row per run kind, each DreamBench measure as mean ± standard deviation
 * over subjects × training seeds, in Markdown. Subject fidelity comes first normalised (0 = the class
 * prior, 1 = the round-tripped photos; see subject-report.ts), then raw.
 */
import type { QualityReport } from "../../../shared/quality.js";
import { meanAndSpread } from "../../src/quality/metrics.js";
import { RUN_KINDS, type RunKey } from "./runs.js";

export function benchmarkTable(reports: Partial<Record<RunKey, QualityReport[]>>): string {
  const cell = (values: number[], digits: number) => {
    if (values.length === 0) return "—";
    const { mean, std } = meanAndSpread(values);
    return `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
  };
  const rows = RUN_KINDS.filter((kind) => reports[kind.key]?.length).map(({ key, label }) => {
    const rs = reports[key]!;
    return [
      label,
      cell(rs.flatMap((r) => (r.subject_fidelity_normalized === undefined ? [] : [r.subject_fidelity_normalized])), 2),
      cell(rs.map((r) => r.subject_fidelity), 3),
      cell(rs.map((r) => r.prompt_fidelity), 2),
      cell(rs.map((r) => r.prior_preservation_similarity), 3),
      cell(rs.map((r) => r.class_recognized), 2),
      cell(rs.map((r) => r.diversity), 3),
      String(rs.length),
    ].join(" | ");
  });
  return [
    "| run | subject fidelity, normalised ↑ | subject fidelity, raw ↑ | prompt fidelity ↑ | PRES ↓ | class kept ↑ | DIV ↑ | n |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}
