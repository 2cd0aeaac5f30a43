import { describe, expect, it } from "vitest";
import { Random } from "../tensor/random.js";
import { EMOJI_CLASSES, heldOutBackground } from "./catalog.js";
import { classDrawings } from "./judge-scenes.js";
import { captionWithIdentifier, namedIndividuals, namedScenes, RESERVED_IDENTIFIERS, unknownWord } from "./unknown-words.js";

describe("unknown words for the identifier stage", () => {
  it("draws lowercase words of 2–5 letters that are neither known nor reserved, the same for the same seed", () => {
    const known = new Set(["dog", "a", "on", "red", "ab", "sk"]);
    // A generator that would often hit the known set: every two-letter word starting with "a" or "s".
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 2000 }, () => unknownWord(random, (word) => known.has(word)));
    };
    const words = draw(3);
    for (const word of words) {
      expect(word).toMatch(/^[a-z]{2,5}$/);
      expect(known.has(word)).toBe(false);
      expect(RESERVED_IDENTIFIERS).not.toContain(word);
    }
    expect(new Set(words.map((word) => word.length))).toEqual(new Set([2, 3, 4, 5]));
    expect(new Set(words).size).toBeGreaterThan(1500);
    expect(draw(3)).toEqual(words);
    expect(draw(4)).not.toEqual(words);
  });

  it("never returns a reserved identifier even when it is the only unknown word", () => {
    // Every word but "sks" is known: the only way out would be the reserved one, so it must keep drawing; give it
    // two unknowns instead and it must pick the unreserved one.
    const random = new Random(1);
    const allowed = new Set(["sks", "qq"]);
    for (let i = 0; i < 20; i++) expect(unknownWord(random, (word) => !allowed.has(word))).toBe("qq");
  });

  it("puts the word right before the whole-word noun, not inside a longer word", () => {
    expect(captionWithIdentifier("a photo of a big dog on a red background", "dog", "xqv")).toBe("a photo of a big xqv dog on a red background");
    expect(captionWithIdentifier("a pineapple and an apple", "apple", "zz")).toBe("a pineapple and an zz apple");
    expect(captionWithIdentifier("a cat", "cat", "ohw")).toBe("a ohw cat");
    expect(() => captionWithIdentifier("a dog", "cat", "zz")).toThrow(/does not name/);
  });

  it("names every other drawing of every class (Noto's others, OpenMoji's, Fluent's) with its own word, the same for the same seed", () => {
    const known = (word: string) => ["dog", "cat", "a"].includes(word);
    const individuals = namedIndividuals(7, known);
    const expected = EMOJI_CLASSES.reduce((count, _, classIndex) => count + classDrawings(classIndex).length - 1 + 2, 0);
    expect(individuals).toHaveLength(expected);
    expect(new Set(individuals.map((individual) => individual.word)).size).toBe(individuals.length);
    for (const { word, vendor, file, classIndex } of individuals) {
      expect(known(word) || RESERVED_IDENTIFIERS.includes(word)).toBe(false);
      // Never the drawing the class noun alone shows.
      expect(vendor === "google" && file === EMOJI_CLASSES[classIndex].file).toBe(false);
    }
    expect(namedIndividuals(7, known)).toEqual(individuals);
    const dog = EMOJI_CLASSES.findIndex((entry) => entry.noun === "dog");
    expect(individuals.filter((individual) => individual.classIndex === dog).map((individual) => individual.vendor)).toEqual(["google", "google", "openmoji", "fluent"]);
  });

  it("captions each individual's scenes with its word before the noun, on the class's seen backgrounds only", () => {
    const individuals = namedIndividuals(7, () => false).slice(0, 6);
    const scenes = namedScenes(individuals, 5, 9);
    expect(scenes).toHaveLength(30);
    scenes.forEach(({ scene, caption, classIndex }, i) => {
      const individual = individuals[Math.floor(i / 5)];
      expect(classIndex).toBe(individual.classIndex);
      expect(caption).toContain(`${individual.word} ${EMOJI_CLASSES[classIndex].noun}`);
      expect([scene.vendor, scene.file]).toEqual([individual.vendor, individual.file]);
      expect(scene.background).not.toBe(heldOutBackground(classIndex));
    });
    expect(namedScenes(individuals, 5, 9)).toEqual(scenes);
  });
});
