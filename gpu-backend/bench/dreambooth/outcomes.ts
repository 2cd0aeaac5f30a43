/**
 * What the benchmark must show on its defaults (issue 13), checked on summary.json's rows, so the
 * bench prints and the model card quotes verdicts rather than a reader eyeballing the table:
 *   - base: normalised fidelity ≈ 0 (|mean| ≤ 0.15);
 *   - full fine-tune without prior: normalised fidelity ≥ 0.5 and prompt fidelity ≥ 0.8;
 *   - with prior preservation (full and LoRA each): PRES lower than without by more than the pooled sd,
 *     normalised fidelity within 0.15 of without, "class kept" within 0.15 of the base's;
 *   - LoRA: normalised fidelity above the base's by more than LoRA's sd.
 * A claim whose rows are missing is not judged (holds: null).
 */
import type { RunKey } from "./runs.js";
import type { BenchmarkSummary, SummaryRow } from "./summary.js";

export interface Outcome {
  claim: string;
  holds: boolean | null;
  detail: string;
}

const pooledSd = (a: number, b: number) => Math.sqrt((a * a + b * b) / 2);
const f = (value: number) => value.toFixed(2);

export function benchmarkOutcomes(summary: BenchmarkSummary): Outcome[] {
  const row = (run: RunKey) => summary.rows.find((candidate) => candidate.run === run);
  const judged = (claim: string, rows: (SummaryRow | undefined)[], check: (rows: SummaryRow[]) => Omit<Outcome, "claim">): Outcome =>
    rows.every((r) => r?.fidelity_norm) ? { claim, ...check(rows as SummaryRow[]) } : { claim, holds: null, detail: "not measured" };
  const [base, full, fullPrior, lora, loraPrior] = (["base", "full", "full+prior", "lora", "lora+prior"] as const).map(row);
  const priorClaim = (method: string, without: SummaryRow | undefined, withPrior: SummaryRow | undefined) =>
    judged(`${method} with prior preservation: PRES down by more than the pooled sd, fidelity within 0.15, class kept near the base's`, [base, without, withPrior], ([b, w, p]) => {
      const presDrop = w.pres.mean - p.pres.mean;
      const sd = pooledSd(w.pres.sd, p.pres.sd);
      const fidelityGap = Math.abs(w.fidelity_norm!.mean - p.fidelity_norm!.mean);
      const keptGap = Math.abs(p.class_kept.mean - b.class_kept.mean);
      return {
        holds: presDrop > sd && fidelityGap <= 0.15 && keptGap <= 0.15,
        detail: `PRES ${f(w.pres.mean)} → ${f(p.pres.mean)} (pooled sd ${f(sd)}); fidelity ${f(w.fidelity_norm!.mean)} → ${f(p.fidelity_norm!.mean)}; class kept ${f(p.class_kept.mean)} vs base ${f(b.class_kept.mean)}`,
      };
    });
  return [
    judged("base: normalised fidelity ≈ 0 (|mean| ≤ 0.15)", [base], ([b]) => ({ holds: Math.abs(b.fidelity_norm!.mean) <= 0.15, detail: `${f(b.fidelity_norm!.mean)} ± ${f(b.fidelity_norm!.sd)}` })),
    judged("full fine-tune: normalised fidelity ≥ 0.5 and prompt fidelity ≥ 0.8", [full], ([r]) => ({
      holds: r.fidelity_norm!.mean >= 0.5 && r.prompt_fidelity.mean >= 0.8,
      detail: `fidelity ${f(r.fidelity_norm!.mean)}, prompt fidelity ${f(r.prompt_fidelity.mean)}`,
    })),
    priorClaim("full", full, fullPrior),
    priorClaim("LoRA", lora, loraPrior),
    judged("LoRA: normalised fidelity above the base's by more than its sd", [base, lora], ([b, r]) => ({
      holds: r.fidelity_norm!.mean - b.fidelity_norm!.mean > r.fidelity_norm!.sd,
      detail: `${f(r.fidelity_norm!.mean)} ± ${f(r.fidelity_norm!.sd)} vs base ${f(b.fidelity_norm!.mean)}`,
    })),
  ];
}
