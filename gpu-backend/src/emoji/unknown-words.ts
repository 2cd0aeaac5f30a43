/**
 * Unknown words in pretraining captions. DreamBooth's premise is that the identifier ("sks") is a
 * rare token with almost no prior: "a photo of a sks dog" renders a dog before fine-tuning, and the
 * fine-tune gives the word its meaning. A model whose captions only ever held known words has never
 * met a rare token, and its untrained embedding pushes the picture anywhere (the v2 base rendered
 * "a photo of a sks dog" as no dog: normalised fidelity −1.9). So the UNet's identifier stage also
 * shows scenes captioned with a random unknown word before the noun, which teaches the one rule a
 * real text encoder brings from its web-scale captions: a word you do not know says little about
 * the picture. The benchmark's identifier is never drawn, so it stays a word the model has not seen.
 */
import { Random } from "../tensor/random.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, heldOutBackground, SIZE_WORDS, SVG_VENDORS, type Vendor } from "./catalog.js";
import { classDrawings } from "./judge-scenes.js";
import { caption, drawScene, type CaptionedScene } from "./scenes.js";

/** Identifiers the benchmark and the docs use: never drawn as an unknown word, so they stay unseen. */
export const RESERVED_IDENTIFIERS: readonly string[] = ["sks"];

/** A random lowercase word of 2–5 letters that `known` rejects and that is not reserved (advances `random`). */
export function unknownWord(random: Random, known: (word: string) => boolean): string {
  for (;;) {
    const length = 2 + random.integer(4);
    let word = "";
    for (let i = 0; i < length; i++) word += String.fromCharCode(97 + random.integer(26));
    if (!known(word) && !RESERVED_IDENTIFIERS.includes(word)) return word;
  }
}

/** The caption with `word` before the first whole-word `noun`: "a big dog on …" → "a big xqv dog on …". */
export function captionWithIdentifier(caption: string, noun: string, word: string): string {
  const match = new RegExp(`\\b${noun}\\b`).exec(caption);
  if (!match) throw new Error(`caption "${caption}" does not name "${noun}"`);
  return `${caption.slice(0, match.index)}${word} ${caption.slice(match.index)}`;
}

/**
 * Named individuals: a few rare words that do mean something, as some rare tokens do for a real text
 * encoder. Each is one drawing of a class other than the one the class noun shows (Noto's other
 * drawings of the noun, OpenMoji's and Fluent's drawing of it), always called by the same unknown word
 * ("a qzv dog" is OpenMoji's dog). Beside the many unknown words that mean nothing, they teach the UNet
 * that a word before the noun can pick one individual's look: what DreamBooth's fine-tune asks of
 * "sks", which a model that only ever learned to ignore unknown words cannot separate from the class.
 */
export interface NamedIndividual {
  word: string;
  classIndex: number;
  vendor: Vendor;
  file: string;
}

/** Every class's other drawings, each with its own unknown, unreserved word (deterministic from the seed). */
export function namedIndividuals(seed: number, known: (word: string) => boolean): NamedIndividual[] {
  const random = new Random(seed);
  const taken = new Set<string>();
  const word = () => {
    for (;;) {
      const candidate = unknownWord(random, known);
      if (!taken.has(candidate)) {
        taken.add(candidate);
        return candidate;
      }
    }
  };
  return EMOJI_CLASSES.flatMap(({ file }, classIndex) => [
    ...classDrawings(classIndex).slice(1).map((other) => ({ vendor: "google" as Vendor, file: other })),
    ...SVG_VENDORS.map((vendor) => ({ vendor: vendor as Vendor, file })),
  ].map((drawing) => ({ word: word(), classIndex, ...drawing })));
}

/** `perIndividual` scenes of each, on the class's seen backgrounds, captioned "a [big] <word> <noun> [on a … background]". */
export function namedScenes(individuals: NamedIndividual[], perIndividual: number, seed: number): CaptionedScene[] {
  const random = new Random(seed);
  const scenes: CaptionedScene[] = [];
  for (const { word, classIndex, vendor, file } of individuals) {
    const backgrounds = BACKGROUND_NAMES.filter((name) => name !== heldOutBackground(classIndex));
    for (let k = 0; k < perIndividual; k++) {
      const background = backgrounds[random.integer(backgrounds.length)];
      const sizeWord = SIZE_WORDS[random.integer(SIZE_WORDS.length)];
      const scene = drawScene(random, vendor, file, background, sizeWord);
      const photo = random.uniform() < 0.5;
      const named = random.uniform() < 0.8 ? background : undefined;
      scenes.push({ scene, caption: caption(`${word} ${EMOJI_CLASSES[classIndex].noun}`, { background: named, sizeWord: sizeWord || undefined, photo }), classIndex, sizeWord });
    }
  }
  return scenes;
}
