/**
 * The embedded tiny-emoji model's whole vocabulary and its untrained scores, as
 * data the Worker can serve (the Worker cannot read the model folder). The words
 * are those of its pretraining captions (gpu-backend/src/emoji/catalog.ts and
 * scenes.ts), the scores the "base (no training)" row of its benchmark
 * (gpu-backend/models/tiny-emoji/benchmark/results.json); a Node test checks both
 * against those sources, so a new model cannot leave this copy behind.
 */

export const TINY_EMOJI_VOCABULARY = {
  classes: [
    "dog", "cat", "mouse", "rabbit", "fox", "bear", "panda", "tiger", "lion", "cow", "pig", "frog", "monkey", "chicken",
    "penguin", "owl", "fish", "whale", "octopus", "turtle", "bee", "ladybug", "apple", "banana", "grapes", "strawberry",
    "lemon", "pineapple", "watermelon", "carrot", "pizza", "cactus",
  ],
  backgrounds: ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white"],
  sizes: ["small", "big"],
  /** The caption words around the nouns: "a photo of a big dog on a red background". */
  other_words: ["a", "photo", "of", "on", "background"],
};

/** Mean over the benchmark's subjects of the untrained model's report (shared/quality.ts measures). */
export const TINY_EMOJI_BASE_QUALITY = {
  subject_fidelity: 0.5833,
  subject_fidelity_normalized: -0.2084,
  prompt_fidelity: 0.9667,
  prior_preservation_similarity: 0.5745,
  class_recognized: 0.6667,
  diversity: 0.5688,
};
