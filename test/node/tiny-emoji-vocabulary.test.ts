/**
 * The Worker's copy of what tiny-emoji can draw (functions/jobs/tiny-emoji-vocabulary.ts)
 * against the model's own sources: the pretraining catalog, the captions it was
 * trained on, its tokenizer, and its benchmark's untrained row. A retrained model
 * that changes any of them fails here until the copy follows.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS } from "../../gpu-backend/src/emoji/catalog.js";
import { pretrainingScenes } from "../../gpu-backend/src/emoji/scenes.js";
import { captionWords } from "../../gpu-backend/src/emoji/bpe-vocab.js";
import { TINY_EMOJI_BASE_QUALITY, TINY_EMOJI_VOCABULARY } from "../../functions/jobs/tiny-emoji-vocabulary.js";

const MODEL = path.resolve(import.meta.dirname, "../../gpu-backend/models/tiny-emoji");

it("lists exactly the classes, backgrounds, size words and caption words tiny-emoji was pretrained on", () => {
  expect(TINY_EMOJI_VOCABULARY.classes).toEqual(EMOJI_CLASSES.map((emoji) => emoji.noun));
  expect(TINY_EMOJI_VOCABULARY.backgrounds).toEqual(BACKGROUND_NAMES);
  expect(TINY_EMOJI_VOCABULARY.sizes).toEqual(SIZE_WORDS.filter(Boolean));
  const listed = new Set<string>(Object.values(TINY_EMOJI_VOCABULARY).flat());
  const captioned = new Set(pretrainingScenes(1, 2).flatMap((scene) => captionWords(scene.caption)));
  expect([...captioned].sort()).toEqual([...listed].sort());
  const tokens = JSON.parse(readFileSync(path.join(MODEL, "tokenizer", "vocab.json"), "utf8")) as Record<string, number>;
  expect([...listed].filter((word) => !(`${word}</w>` in tokens))).toEqual([]);
});

it("gives the untrained model's benchmark scores, as the model card's table rounds them", () => {
  const results = JSON.parse(readFileSync(path.join(MODEL, "benchmark", "results.json"), "utf8")) as {
    reports: Record<string, Record<keyof typeof TINY_EMOJI_BASE_QUALITY, number>[]>;
  };
  const base = results.reports.base;
  for (const [measure, value] of Object.entries(TINY_EMOJI_BASE_QUALITY)) {
    const mean = base.reduce((sum, report) => sum + report[measure as keyof typeof TINY_EMOJI_BASE_QUALITY], 0) / base.length;
    expect(value, measure).toBeCloseTo(mean, 3);
  }
});
