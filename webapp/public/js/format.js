// @ts-check
/** Small pure formatters shared by the screens: durations, losses, sizes, prompts. */

/** "42 s", "3 min 5 s", "1 h 2 min"; "—" when unknown. @param {number | null | undefined} seconds */
export function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
}

/**
 * Seconds left at the pace seen so far, for backends that send no `eta_s`:
 * steps done between the first and the last observation over the time between them.
 * @param {{ at: number, step: number }[]} observations  Unix ms and step, oldest first
 * @param {number} totalSteps
 * @returns {number | null}
 */
export function estimateEtaS(observations, totalSteps) {
  const first = observations[0];
  const last = observations[observations.length - 1];
  if (!first || !last || last.step <= first.step || last.at <= first.at) return null;
  const stepsPerMs = (last.step - first.step) / (last.at - first.at);
  return Math.max(0, totalSteps - last.step) / stepsPerMs / 1000;
}

/** Four significant digits, enough to see a loss move. @param {number | null | undefined} loss */
export function formatLoss(loss) {
  return loss === null || loss === undefined ? "—" : loss.toPrecision(4);
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/**
 * What the service makes of `{subject}` in a prompt (shared/params.ts
 * expandSubjectPlaceholder), shown so the user sees the rare token at work.
 * @param {string} prompt
 * @param {{ identifier: string, class_noun: string }} subject
 */
export function expandSubject(prompt, subject) {
  return prompt.replaceAll("{subject}", `${subject.identifier} ${subject.class_noun}`);
}

/**
 * @typedef {{ subject_fidelity: number, subject_fidelity_normalized?: number, prompt_fidelity: number,
 *   prior_preservation_similarity: number, class_recognized: number, diversity: number }} QualityMeasures
 */

/**
 * The rows the app shows of a training's quality report (shared/quality.ts): DreamBench's measures, each
 * with what it means, which way is better, and the untrained base model's score beside it when known
 * (GET /v1/models `base_quality`), so a number says whether training helped. [] when the backend graded nothing.
 * @param {QualityMeasures | null | undefined} quality
 * @param {QualityMeasures | null} [base]
 * @returns {{ label: string, value: string, base: string, help: string }[]}
 */
export function qualityRows(quality, base = null) {
  if (!quality) return [];
  const percent = (/** @type {number} */ value) => `${Math.round(value * 100)} %`;
  const decimal = (/** @type {number} */ value) => value.toFixed(3);
  /** @type {[Exclude<keyof QualityMeasures, "subject_fidelity_normalized">, string, (value: number) => string, string][]} */
  const measures = [
    ["subject_fidelity", "Subject fidelity ↑", decimal, "how alike the generated subject and your photos are (DINO / CLIP-I analogue)"],
    ["prompt_fidelity", "Prompt fidelity ↑", percent, "generations that show the context the prompt asked for (CLIP-T analogue)"],
    ["prior_preservation_similarity", "Prior drift ↓", decimal, "how much plain class prompts now look like your subject (PRES)"],
    ["class_recognized", "Class kept ↑", percent, "plain class prompts still recognised as the class"],
    ["diversity", "Diversity ↑", decimal, "how different generations of one prompt are (DIV)"],
  ];
  const rows = measures.map(([key, label, format, help]) => ({ label, value: format(quality[key]), base: base ? format(base[key]) : "—", help }));
  // The normalised score reads the raw one between the class's own drawing (0) and the photos themselves (1).
  const normalised = quality.subject_fidelity_normalized;
  if (typeof normalised !== "number") return rows;
  const baseNormalised = base?.subject_fidelity_normalized;
  const row = {
    label: "Subject fidelity, normalised ↑",
    value: normalised.toFixed(2),
    base: typeof baseNormalised === "number" ? baseNormalised.toFixed(2) : "—",
    help: "0 = no more like your subject than the model's own drawing of the class, 1 = as alike as your photos are to each other",
  };
  return [rows[0], row, ...rows.slice(1)];
}

/**
 * What each weight download is and which tools load it as it is (functions/jobs/views.ts WEIGHT_FORMATS).
 * ComfyUI reads the diffusers-format LoRA's text-encoder keys but not its UNet keys, so it would apply
 * only half of it; the kohya file is the one for ComfyUI and A1111.
 */
export const WEIGHT_DOWNLOADS = {
  "diffusers-lora": { label: "LoRA · diffusers", loadsIn: "diffusers (load_lora_weights); not ComfyUI, which applies only its text-encoder half" },
  "kohya-lora": { label: "LoRA · kohya", loadsIn: "ComfyUI, AUTOMATIC1111 / Forge" },
  diffusers: { label: "Full model · diffusers", loadsIn: "diffusers (from_pretrained), transformers for the text encoder" },
};

/**
 * One line on which training step's weights were exported and why (`selected_checkpoint` of a training), or ""
 * when the backend did not say.
 * @param {{ step: number, reason: string } | null | undefined} selected
 * @param {number} steps the training's step count
 */
export function exportedStepNote(selected, steps) {
  if (!selected) return "";
  return selected.step === steps ? `Weights of the last step (${steps}): ${selected.reason}.` : `Weights of step ${selected.step} of ${steps}: ${selected.reason}.`;
}

