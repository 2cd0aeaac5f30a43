/**
 * The benchmark's subjects: emoji of classes the base model knows, drawn by another vendor (Twemoji,
 * CC-BY 4.0) whose drawings were never in pretraining — DreamBench's "a specific dog of a known
 * class". Each gets a few "photos": the drawing composed at different positions, sizes and
 * backgrounds, from a fixed seed.
 */
import type { Pixels } from "../../src/dreambooth/images.js";
import { EMOJI_CLASSES, type SizeWord } from "../../src/emoji/catalog.js";
import { renderScene } from "../../src/emoji/compose.js";
import { drawScene } from "../../src/emoji/scenes.js";
import { Random } from "../../src/tensor/random.js";

export interface BenchSubject {
  name: string;
  classNoun: string;
  photos: Pixels[];
}

/** Photo backgrounds: kept apart from the recontextualisation prompts' red/blue/yellow. */
const PHOTO_SETTINGS: [string, SizeWord][] = [
  ["green", ""],
  ["white", "big"],
  ["purple", ""],
  ["pink", "small"],
];

export async function benchSubject(classNoun: string, photoCount: number, seed: number): Promise<BenchSubject> {
  const entry = EMOJI_CLASSES.find((candidate) => candidate.noun === classNoun);
  if (!entry) throw new Error(`no emoji class "${classNoun}"`);
  const random = new Random(seed);
  const photos: Pixels[] = [];
  for (let i = 0; i < photoCount; i++) {
    const [background, size] = PHOTO_SETTINGS[i % PHOTO_SETTINGS.length];
    photos.push(await renderScene(drawScene(random, "twitter", entry.file, background, size)));
  }
  return { name: `twemoji-${classNoun}`, classNoun, photos };
}
