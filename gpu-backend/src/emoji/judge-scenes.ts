/**
 * Labelled scenes for the judge's class, background and size heads.
 *   - `judgeScenes`: every class drawing on every background (held-out pairs included — the judge
 *     grades generations, it must know them all) at every size, drawn from a seed of its own; the
 *     judge's validation set.
 *   - `drawJudgeClassScene`: what the class head trains on. One drawing per class would teach it that
 *     exact picture, and it would misname the same animal drawn by another vendor (the v2 judge trained
 *     that way named 43 % of Twemoji classes, 0 % of its foxes, frogs, cats and pigs). So a class is a
 *     distribution: any drawing of that thing (`CLASS_DRAWINGS`: a dog face, a dog, a poodle) by Noto,
 *     OpenMoji or Fluent (a third each), colour-jittered (hue included, `drawStrongJitter`), mirrored
 *     half the time. Noto alone draws most nouns once, and a judge that has seen one vendor names only
 *     about half of Twemoji's classes (48 %); with OpenMoji as a second style it named 60 % of raw
 *     Twemoji scenes, but still 8 % of its dogs and foxes and none of its lions and owls. Each style
 *     added teaches it more of what stays when the style changes. Twemoji, the benchmark's subjects,
 *     stays out of every stage.
 */
import { Random } from "../tensor/random.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS, type Vendor } from "./catalog.js";
import type { Scene } from "./compose.js";
import { drawStrongJitter } from "./jitter.js";
import { drawScene } from "./scenes.js";

export interface LabelledScene {
  scene: Scene;
  classIndex: number;
  backgroundIndex: number;
  sizeIndex: number;
}

/**
 * Other Noto drawings of a class's noun (`img/google/64/<code>.png`), besides its catalog drawing:
 * the whole animal beside its face, close kin a caption would call by the same word. Things Noto draws
 * only once (fox, frog, penguin, the fruit) have none.
 */
export const CLASS_DRAWINGS: Readonly<Record<string, readonly string[]>> = {
  dog: ["1f415", "1f429"],
  cat: ["1f408", "1f638", "1f63a", "1f63c"],
  mouse: ["1f401"],
  rabbit: ["1f407"],
  bear: ["1f43b-200d-2744-fe0f", "1f9f8"],
  tiger: ["1f405"],
  cow: ["1f404"],
  pig: ["1f416", "1f43d"],
  monkey: ["1f412", "1f648", "1f649", "1f64a"],
  chicken: ["1f413"],
  fish: ["1f420"],
  whale: ["1f40b"],
  apple: ["1f34f"],
};

/** The drawings (file names) that show class `classIndex`, its catalog drawing first. */
export function classDrawings(classIndex: number): string[] {
  const { noun, file } = EMOJI_CLASSES[classIndex];
  return [file, ...(CLASS_DRAWINGS[noun] ?? []).map((code) => `${code}.png`)];
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

/** The vendors the class head learns from, drawn with equal odds. */
export const JUDGE_CLASS_VENDORS: readonly Vendor[] = ["google", "openmoji", "fluent"];

/**
 * One training scene for the class head (advances `random`): a random class, one of its drawings
 * (the catalog drawing half the time) by one of `JUDGE_CLASS_VENDORS`, any background and size,
 * colour-jittered, mirrored half the time.
 */
export function drawJudgeClassScene(random: Random): LabelledScene {
  const classIndex = random.integer(EMOJI_CLASSES.length);
  const drawings = classDrawings(classIndex);
  const file = random.uniform() < 0.5 ? drawings[0] : drawings[random.integer(drawings.length)];
  const vendor = JUDGE_CLASS_VENDORS[random.integer(JUDGE_CLASS_VENDORS.length)];
  const backgroundIndex = random.integer(BACKGROUND_NAMES.length);
  const sizeIndex = random.integer(SIZE_WORDS.length);
  const scene = drawScene(random, vendor, file, BACKGROUND_NAMES[backgroundIndex], SIZE_WORDS[sizeIndex]);
  return { scene: { ...scene, jitter: drawStrongJitter(random), mirrored: random.uniform() < 0.5 }, classIndex, backgroundIndex, sizeIndex };
}
