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
import type { Random } from "../tensor/random.js";

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
