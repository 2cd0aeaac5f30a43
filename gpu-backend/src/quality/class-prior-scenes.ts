/**
 * The class prior of subject fidelity: the base model's own drawing of the class (Noto's dog, not the
 * subject's dog), composed into the scenes the evaluation prompts ask for — each recontextualisation
 * background, and each size word on a background of its own — a fixed number per prompt, from a seed
 * that depends on the class only. Such an image is exactly "right class, wrong individual": what a
 * model that ignores the identifier at best renders, so its score is the normalised metric's 0.
 */
import type { Pixels } from "../dreambooth/images.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, type SizeWord } from "../emoji/catalog.js";
import { renderScene } from "../emoji/compose.js";
import { drawScene } from "../emoji/scenes.js";
import { Random } from "../tensor/random.js";

/** undefined for a class the embedded emoji set does not have (then there is no prior to measure). */
export async function classPriorScenes(classNoun: string, backgrounds: string[], sizeWords: SizeWord[], perPrompt: number): Promise<Pixels[] | undefined> {
  const classIndex = EMOJI_CLASSES.findIndex((entry) => entry.noun === classNoun);
  if (classIndex < 0) return undefined;
  const random = new Random(7000 + classIndex);
  const contexts: [string, SizeWord][] = [
    ...backgrounds.map((background): [string, SizeWord] => [background, ""]),
    ...sizeWords.map((sizeWord, i): [string, SizeWord] => [BACKGROUND_NAMES[(classIndex + i) % BACKGROUND_NAMES.length], sizeWord]),
  ];
  const scenes = contexts.flatMap(([background, sizeWord]) =>
    Array.from({ length: perPrompt }, () => drawScene(random, "google", EMOJI_CLASSES[classIndex].file, background, sizeWord)),
  );
  return Promise.all(scenes.map(renderScene));
}
