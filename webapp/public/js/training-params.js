// @ts-check
/**
 * The training form → the `params` of `POST /v1/trainings`. Only what the user
 * can change is sent; the service fills every other default and stores the
 * resolved set, which the live screen then shows. Pure, and typed by the shared
 * zod schema (`TrainingParamsInput`), so a renamed field fails the typecheck.
 */
import { expandSubject } from "./format.js";

/** @typedef {import("../../../shared/params.js").TrainingParamsInput} TrainingParamsInput */

/**
 * @typedef {object} TrainingForm  the raw form values, as strings from the inputs
 * @property {string} steps
 * @property {string} method
 * @property {string} lora_rank
 * @property {string} seed
 * @property {boolean} prior_enabled
 * @property {string} prior_weight
 * @property {string} num_class_images
 * @property {string} validation_prompt
 */

/** @param {string} text */
const integer = (text) => (text.trim() === "" ? undefined : Number(text));

/**
 * @param {TrainingForm} form
 * @param {{ identifier: string, class_noun: string }} subject
 * @returns {TrainingParamsInput}
 */
export function trainingParams(form, subject) {
  const method = form.method === "full" ? "full" : "lora";
  const seed = integer(form.seed);
  const validationPrompt = form.validation_prompt.trim();
  return {
    steps: Number(form.steps),
    method,
    ...(method === "lora" ? { lora_rank: Number(form.lora_rank) } : {}),
    prior_preservation: form.prior_enabled
      ? { enabled: true, weight: Number(form.prior_weight), num_class_images: Number(form.num_class_images) }
      : { enabled: false },
    ...(seed === undefined ? {} : { seed }),
    // {subject} expanded the same way the service expands it (shared/params.ts).
    ...(validationPrompt ? { validation_prompts: [expandSubject(validationPrompt, subject)] } : {}),
  };
}
