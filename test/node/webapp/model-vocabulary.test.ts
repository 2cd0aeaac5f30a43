import { describe, expect, it } from "vitest";
import { TINY_EMOJI_VOCABULARY } from "../../../functions/jobs/tiny-emoji-vocabulary.js";
import { promptSuggestions, unknownWords } from "../../../webapp/public/js/vocabulary.js";

const subject = { identifier: "zwx", class_noun: "dog" };

describe("the model's vocabulary in the app", () => {
  it("flags each word tiny-emoji never saw, once, and knows the subject's identifier and class", () => {
    expect(unknownWords("a photo of {subject} wearing a tiny astronaut helmet, studio light", TINY_EMOJI_VOCABULARY, subject)).toEqual([
      "wearing", "tiny", "astronaut", "helmet", "studio", "light",
    ]);
    expect(unknownWords("a big zwx dog on a Pink background", TINY_EMOJI_VOCABULARY, subject)).toEqual([]);
    expect(unknownWords("a dog on the beach, the beach", TINY_EMOJI_VOCABULARY, subject)).toEqual(["the", "beach"]);
  });

  it("knows every word of an open-vocabulary model", () => {
    expect(unknownWords("a photo of {subject} in a spacesuit", null, subject)).toEqual([]);
  });

  it("suggests distinct prompts made only of known words, the model's own suggestion first", () => {
    const suggestions = promptSuggestions("a {subject} on a blue background", TINY_EMOJI_VOCABULARY);
    expect(suggestions[0]).toBe("a {subject} on a blue background");
    expect(new Set(suggestions).size).toBe(suggestions.length);
    expect(suggestions.length).toBeGreaterThanOrEqual(3);
    expect(suggestions.flatMap((prompt) => unknownWords(prompt, TINY_EMOJI_VOCABULARY, subject))).toEqual([]);
    expect(promptSuggestions("a photo of {subject} on a beach", null)).toEqual(["a photo of {subject} on a beach"]);
  });
});
