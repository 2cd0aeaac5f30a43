import { describe, expect, it } from "vitest";
import { expandSubjectPlaceholder } from "../../../shared/index.js";
import { estimateEtaS, expandSubject, exportedStepNote, formatEta, qualityRows, WEIGHT_DOWNLOADS } from "../../../webapp/public/js/format.js";
import { WEIGHT_FORMATS } from "../../../functions/jobs/views.js";

describe("formatting", () => {
  it("says an ETA in the largest sensible units", () => {
    expect([null, -1, 0, 42.4, 185, 3725].map(formatEta)).toEqual(["—", "—", "0 s", "42 s", "3 min 5 s", "1 h 2 min"]);
  });

  it("estimates the time left from the pace so far, and nothing before there is a pace", () => {
    expect(estimateEtaS([], 100)).toBeNull();
    expect(estimateEtaS([{ at: 1000, step: 10 }], 100)).toBeNull();
    expect(estimateEtaS([{ at: 1000, step: 10 }, { at: 2000, step: 10 }], 100)).toBeNull();
    // 20 steps in 4 s → 5 steps/s; 70 steps left → 14 s.
    expect(estimateEtaS([{ at: 1000, step: 10 }, { at: 3000, step: 20 }, { at: 5000, step: 30 }], 100)).toBeCloseTo(14);
  });

  it("previews {subject} exactly as the service expands it", () => {
    const subject = { identifier: "sks", class_noun: "dog" };
    for (const prompt of ["{subject} on a beach", "two {subject}s and a {subject}", "no placeholder"]) {
      expect(expandSubject(prompt, subject)).toBe(expandSubjectPlaceholder(prompt, subject));
    }
  });

  it("shows a quality report's five measures with their direction, and nothing without a report", () => {
    expect(qualityRows(null)).toEqual([]);
    const rows = qualityRows({ subject_fidelity: 0.6123, prompt_fidelity: 0.5, prior_preservation_similarity: 0.3456, class_recognized: 1, diversity: 0.25 });
    expect(rows.map((row) => [row.label, row.value, row.base])).toEqual([
      ["Subject fidelity ↑", "0.612", "—"],
      ["Prompt fidelity ↑", "50 %", "—"],
      ["Prior drift ↓", "0.346", "—"],
      ["Class kept ↑", "100 %", "—"],
      ["Diversity ↑", "0.250", "—"],
    ]);
    const measures = { subject_fidelity: 0.8, prompt_fidelity: 1, prior_preservation_similarity: 0.5, class_recognized: 1, diversity: 0.3 };
    const normalised = qualityRows({ ...measures, subject_fidelity_normalized: 0.614 }, { ...measures, subject_fidelity_normalized: -0.05 });
    expect(normalised.map((row) => [row.label, row.value, row.base]).slice(0, 2)).toEqual([
      ["Subject fidelity ↑", "0.800", "0.800"],
      ["Subject fidelity, normalised ↑", "0.61", "-0.05"],
    ]);
    expect(normalised).toHaveLength(6);
  });

  it("labels every weight download the service serves with the tools that load it", () => {
    expect(Object.keys(WEIGHT_DOWNLOADS).sort()).toEqual([...WEIGHT_FORMATS].sort());
    expect(WEIGHT_DOWNLOADS["kohya-lora"].loadsIn).toMatch(/ComfyUI.*AUTOMATIC1111/);
    // ComfyUI would apply only the text-encoder half of the diffusers-format LoRA: the label must not send people there.
    expect(WEIGHT_DOWNLOADS["diffusers-lora"].loadsIn).toMatch(/not ComfyUI.*text-encoder half/);
    expect(WEIGHT_DOWNLOADS.diffusers.loadsIn).toMatch(/from_pretrained/);
  });

  it("says which step's weights were exported and why, and nothing when the backend did not say", () => {
    expect(exportedStepNote(null, 800)).toBe("");
    expect(exportedStepNote({ step: 600, reason: "highest subject fidelity (0.612)" }, 800)).toBe("Weights of step 600 of 800: highest subject fidelity (0.612).");
    expect(exportedStepNote({ step: 800, reason: 'checkpoint_selection is "last"' }, 800)).toBe('Weights of the last step (800): checkpoint_selection is "last".');
  });

  it("puts the untrained base model's score beside each measure", () => {
    const trained = { subject_fidelity: 0.5, prompt_fidelity: 0.75, prior_preservation_similarity: 0.3, class_recognized: 0, diversity: 0.4 };
    const base = { subject_fidelity: 0.449, prompt_fidelity: 1, prior_preservation_similarity: 0.378, class_recognized: 0, diversity: 0.368 };
    expect(qualityRows(trained, base).map((row) => row.base)).toEqual(["0.449", "100 %", "0.378", "0 %", "0.368"]);
  });
});

