import { describe, expect, it } from "vitest";
import { Random } from "../tensor/random.js";
import { captionWithIdentifier, RESERVED_IDENTIFIERS, unknownWord } from "./unknown-words.js";

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
});
