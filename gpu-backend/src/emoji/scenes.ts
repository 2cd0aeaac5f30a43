/**
 * Drawing scenes and their captions from one seed. A scene's caption says only what the image shows:
 * the noun always, the background colour and the size word when the template mentions them, so the
 * text encoder learns each word from images that agree with it. Pretraining uses every class on every
 * background except one held-out colour per class; those unseen pairs are the quality gate's prompts.
 */
import { Random } from "../tensor/random.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, heldOutBackground, IMAGE_SIZE, SIZES, SIZE_WORDS, type SizeWord, type Vendor } from "./catalog.js";
import type { Scene } from "./compose.js";

export interface CaptionedScene {
  scene: Scene;
  caption: string;
  classIndex: number;
  sizeWord: SizeWord;
}

/** A caption naming the thing, optionally its size and background; "{noun}" stands for e.g. "sks dog". */
export function caption(noun: string, parts: { background?: string; sizeWord?: SizeWord; photo?: boolean }): string {
  const size = parts.sizeWord ? `${parts.sizeWord} ` : "";
  const subject = `${parts.photo ? "a photo of a" : "a"} ${size}${noun}`;
  return parts.background ? `${subject} on a ${parts.background} background` : subject;
}

/** A random placement of an emoji of the given size word; at least 3/4 of it stays on the canvas. */
export function drawScene(random: Random, vendor: Vendor, file: string, background: string, sizeWord: SizeWord): Scene {
  const [low, high] = SIZES[sizeWord];
  const size = low + random.integer(high - low + 1);
  const slack = Math.floor(size / 8);
  const place = () => -slack + random.integer(IMAGE_SIZE - size + 2 * slack + 1);
  return { vendor, file, background, backgroundShift: random.integer(25) - 12, size, x: place(), y: place() };
}

/** Pretraining scenes: `perPair` per (class, seen background), each with one randomly chosen caption. */
export function pretrainingScenes(seed: number, perPair: number): CaptionedScene[] {
  const random = new Random(seed);
  const scenes: CaptionedScene[] = [];
  EMOJI_CLASSES.forEach(({ noun, file }, classIndex) => {
    for (const background of BACKGROUND_NAMES) {
      if (background === heldOutBackground(classIndex)) continue;
      for (let k = 0; k < perPair; k++) {
        const sizeWord = SIZE_WORDS[random.integer(SIZE_WORDS.length)];
        const scene = drawScene(random, "google", file, background, sizeWord);
        const photo = random.uniform() < 0.5;
        // Most captions name the background; some do not, so "a dog" alone means a dog on any colour.
        const named = random.uniform() < 0.8 ? background : undefined;
        scenes.push({ scene, caption: caption(noun, { background: named, sizeWord: sizeWord || undefined, photo }), classIndex, sizeWord });
      }
    }
  });
  return scenes;
}

/** The quality gate's control prompts: every class on a background it was trained on (the next colour after its held-out one). */
export function seenPrompts(): { caption: string; classIndex: number; background: string }[] {
  return EMOJI_CLASSES.map(({ noun }, classIndex) => {
    const background = BACKGROUND_NAMES[(BACKGROUND_NAMES.indexOf(heldOutBackground(classIndex)) + 1) % BACKGROUND_NAMES.length];
    return { caption: caption(noun, { background }), classIndex, background };
  });
}

/** The quality gate's prompts: every class on its held-out background (never seen together). */
export function heldOutPrompts(): { caption: string; classIndex: number; background: string }[] {
  return EMOJI_CLASSES.map(({ noun }, classIndex) => {
    const background = heldOutBackground(classIndex);
    return { caption: caption(noun, { background }), classIndex, background };
  });
}
