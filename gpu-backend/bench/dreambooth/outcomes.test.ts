import { describe, expect, it } from "vitest";
import { benchmarkOutcomes } from "./outcomes.js";
import type { BenchmarkSummary, SummaryRow } from "./summary.js";

const ms = (mean: number, sd = 0) => ({ mean, sd });
function row(run: SummaryRow["run"], fidelity: number, pres: number, kept: number, prompt = 0.9, sd = 0.05): SummaryRow {
  return { run, n: 3, fidelity_norm: ms(fidelity, sd), prompt_fidelity: ms(prompt), pres: ms(pres, 0.05), div: ms(0.3), class_kept: ms(kept) };
}
const summary = (rows: SummaryRow[]): BenchmarkSummary => ({ rows, bounds: {}, wall_s: 0 });

describe("benchmark outcomes", () => {
  const paperLike = [row("base", 0.05, 0.4, 0.9), row("full", 0.7, 0.8, 0.2), row("full+prior", 0.62, 0.5, 0.85), row("lora", 0.4, 0.7, 0.5), row("lora+prior", 0.35, 0.45, 0.8)];

  it("all hold on numbers shaped like the paper's", () => {
    expect(benchmarkOutcomes(summary(paperLike)).map((outcome) => outcome.holds)).toEqual([true, true, true, true, true]);
  });

  it("each fails on the number it names", () => {
    const broken = (index: number, replacement: SummaryRow) => benchmarkOutcomes(summary(paperLike.map((r, i) => (i === index ? replacement : r))));
    expect(broken(0, row("base", 0.3, 0.4, 0.9))[0].holds).toBe(false);
    expect(broken(1, row("full", 0.7, 0.8, 0.2, 0.7))[1].holds).toBe(false);
    // A PRES drop of 0.03 is inside the pooled sd of 0.05.
    expect(broken(2, row("full+prior", 0.62, 0.77, 0.85))[2].holds).toBe(false);
    // class kept 0.5 is not near the base's 0.9.
    expect(broken(4, row("lora+prior", 0.35, 0.45, 0.5))[3].holds).toBe(false);
    // LoRA 0.1 above base with sd 0.2.
    expect(broken(3, row("lora", 0.15, 0.7, 0.5, 0.9, 0.2))[4].holds).toBe(false);
  });

  it("does not judge a claim whose runs were not measured", () => {
    const outcomes = benchmarkOutcomes(summary([row("base", 0, 0.4, 0.9)]));
    expect(outcomes[0].holds).toBe(true);
    expect(outcomes.slice(1).map((outcome) => outcome.holds)).toEqual([null, null, null, null]);
  });
});
