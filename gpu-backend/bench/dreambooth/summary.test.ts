import { describe, expect, it } from "vitest";
import type { QualityReport } from "../../../shared/quality.js";
import { benchmarkSummary, boundsLines } from "./summary.js";
import { benchmarkTable } from "./table.js";

/** A report with only the fields the summary reads set to something meaningful. */
function report(classNoun: string, values: { norm?: number; raw: number; prompt: number; pres: number; kept: number; div: number }): QualityReport {
  return {
    version: 1,
    base_model: "tiny-emoji",
    subject: { identifier: "sks", class_noun: classNoun },
    subject_fidelity: values.raw,
    ...(values.norm === undefined ? {} : { subject_fidelity_normalized: values.norm, fidelity_bounds: { prior: 0.5, ceiling: 0.9 } }),
    prompt_fidelity: values.prompt,
    prior_preservation_similarity: values.pres,
    class_recognized: values.kept,
    diversity: values.div,
    judge: { name: "test", note: "" },
    sampling: { scheduler: "ddim", steps: 2, guidance_scale: 2, seeds: [1] },
    prompts: [],
  };
}

describe("benchmark summary", () => {
  const reports = {
    base: [report("dog", { norm: 0, raw: 0.5, prompt: 1, pres: 0.4, kept: 1, div: 0.3 }), report("cat", { norm: 0.2, raw: 0.58, prompt: 1, pres: 0.5, kept: 0.5, div: 0.2 })],
    full: [report("dog", { norm: 0.6, raw: 0.74, prompt: 0.8, pres: 0.7, kept: 0, div: 0.1 }), report("dog", { norm: 0.8, raw: 0.82, prompt: 1, pres: 0.9, kept: 0, div: 0.3 })],
  };

  it("gives one row per run kind present, in the benchmark's order, with mean and sample sd of each measure", () => {
    const summary = benchmarkSummary(reports, 123.4);
    expect(summary.rows.map((row) => row.run)).toEqual(["base", "full"]);
    const full = summary.rows[1];
    expect(full.n).toBe(2);
    expect(full.fidelity_norm!.mean).toBeCloseTo(0.7, 12);
    expect(full.fidelity_norm!.sd).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(full.prompt_fidelity.mean).toBeCloseTo(0.9, 12);
    expect(full.pres.mean).toBeCloseTo(0.8, 12);
    expect(full.div.mean).toBeCloseTo(0.2, 12);
    expect(full.class_kept).toEqual({ mean: 0, sd: 0 });
    expect(summary.wall_s).toBe(123);
  });

  it("records each subject's bounds once, with the base model's raw score beside them", () => {
    const summary = benchmarkSummary(reports, 0);
    expect(summary.bounds).toEqual({ dog: { prior: 0.5, ceiling: 0.9, base: 0.5 }, cat: { prior: 0.5, ceiling: 0.9, base: 0.58 } });
    expect(boundsLines(summary)[0]).toMatch(/^- dog: s_prior 0\.500 .* s_ceiling 0\.900 .* s_base 0\.500/);
  });

  it("leaves reports without bounds out of the normalised mean, and says so when none has them", () => {
    const unbounded = { lora: [report("fox", { raw: 0.6, prompt: 1, pres: 0.5, kept: 1, div: 0.2 })] };
    const summary = benchmarkSummary(unbounded, 0);
    expect(summary.rows[0].fidelity_norm).toBeNull();
    expect(summary.bounds).toEqual({});
    expect(benchmarkTable(unbounded)).toContain("| LoRA, no prior | — | 0.600 ± 0.000 |");
  });
});
