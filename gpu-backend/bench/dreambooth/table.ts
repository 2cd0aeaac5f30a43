/**
 * The benchmark's table: one row per run kind, each DreamBench measure as mean ± standard deviation
 * over subjects × training seeds, in Markdown.
 */
import type { QualityReport } from "../../../shared/quality.js";
import { meanAndSpread } from "../../src/quality/metrics.js";

export function benchmarkTable(reports: Record<string, QualityReport[]>): string {
  const cell = (values: number[], digits: number) => {
    const { mean, std } = meanAndSpread(values);
    return `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
  };
  const rows = Object.entries(reports).map(([label, rs]) =>
    [
      label,
      cell(rs.map((r) => r.subject_fidelity), 3),
      cell(rs.map((r) => r.prompt_fidelity), 2),
      cell(rs.map((r) => r.prior_preservation_similarity), 3),
      cell(rs.map((r) => r.class_recognized), 2),
      cell(rs.map((r) => r.diversity), 3),
      String(rs.length),
    ].join(" | "),
  );
  return [
    "| run | subject fidelity ↑ | prompt fidelity ↑ | PRES ↓ | class kept ↑ | DIV ↑ | n |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}
