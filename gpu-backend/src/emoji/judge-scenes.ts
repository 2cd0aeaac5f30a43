/**
 * Labelled scenes for the judge: every class on every background (held-out pairs included — the judge
 * grades generations, it must know them all) at every size, drawn from a seed of its own.
 */
import { Random } from "../tensor/random.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS } from "./catalog.js";
import type { Scene } from "./compose.js";
import { drawScene } from "./scenes.js";

export interface LabelledScene {
  scene: Scene;
  classIndex: number;
  backgroundIndex: number;
  sizeIndex: number;
}

export function judgeScenes(seed: number, perCombination: number): LabelledScene[] {
  const random = new Random(seed);
  const out: LabelledScene[] = [];
  EMOJI_CLASSES.forEach(({ file }, classIndex) => {
    BACKGROUND_NAMES.forEach((background, backgroundIndex) => {
      SIZE_WORDS.forEach((sizeWord, sizeIndex) => {
        for (let k = 0; k < perCombination; k++) {
          out.push({ scene: drawScene(random, "google", file, background, sizeWord), classIndex, backgroundIndex, sizeIndex });
        }
      });
    });
  });
  return out;
}
