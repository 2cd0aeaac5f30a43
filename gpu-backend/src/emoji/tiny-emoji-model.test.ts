/**
 * The committed embedded model (gpu-backend/models/tiny-emoji): it loads through the model core,
 * renders a prompt in seconds on wasm, follows the prompt's background (it is pretrained, not random),
 * its tokenizer is exactly the one learned from its captions, and its judge recognises freshly composed
 * scenes.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disposeStableDiffusion, generate, loadStableDiffusionPipeline, type StableDiffusion } from "../model/pipeline.js";
import { pixelsBatch } from "../dreambooth/images.js";
import { renderBatch } from "../quality/batch-render.js";
import { loadJudge } from "../quality/judge-files.js";
import { accuracy, argmaxRows } from "../quality/metrics.js";
import { initTensorBackend } from "../tensor/backend.js";
import { captionWords, clipVocabularyFiles, learnMerges } from "./bpe-vocab.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES } from "./catalog.js";
import { renderScene } from "./compose.js";
import { vocabularyCorpus } from "./dataset.js";
import { judgeScenes } from "./judge-scenes.js";
import { pretrainingScenes } from "./scenes.js";

const MODEL_DIR = fileURLToPath(new URL("../../models/tiny-emoji", import.meta.url));

describe("the embedded tiny-emoji model", () => {
  let model: StableDiffusion;
  beforeAll(async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    model = await loadStableDiffusionPipeline(MODEL_DIR);
  });
  afterAll(() => disposeStableDiffusion(model));

  it("renders a 32×32 image for a prompt in well under 20 s", async () => {
    const started = Date.now();
    const image = await generate(model, { prompt: "a dog on a blue background", seed: 1, steps: 20, guidanceScale: 4, scheduler: "ddim", width: 32, height: 32 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(image.rgb).toHaveLength(32 * 32 * 3);
    expect(new Set(image.rgb).size).toBeGreaterThan(10);
  });

  it("paints the background the prompt names, which a random model cannot", async () => {
    const judge = await loadJudge(`${MODEL_DIR}/judge`);
    const asked = ["red", "green", "blue", "yellow", "white", "purple"];
    const nouns = ["dog", "banana", "frog", "pizza", "owl", "cactus"];
    const requests = asked.flatMap((background, i) => [1, 2].map((seed) => ({ prompt: `a ${nouns[i]} on a ${background} background`, seed })));
    const images = renderBatch(model, { requests, steps: 20, guidanceScale: 4, scheduler: "ddim", resolution: 32 });
    const out = judge.forward(pixelsBatch(images));
    const named = argmaxRows(out.backgroundLogits.dataSync(), BACKGROUND_NAMES.length).map((index) => BACKGROUND_NAMES[index]);
    tf.dispose(Object.values(out));
    const hits = named.filter((name, i) => name === asked[Math.floor(i / 2)]).length;
    expect(hits / named.length, named.join(", ")).toBeGreaterThanOrEqual(0.75);
  });

  it("has the tokenizer learned from its own captions, one token per caption word", async () => {
    const facts = JSON.parse(await readFile(`${MODEL_DIR}/training.json`, "utf8")) as { seed: number; images: number };
    const perPair = facts.images / (EMOJI_CLASSES.length * (BACKGROUND_NAMES.length - 1));
    const corpus = vocabularyCorpus(pretrainingScenes(facts.seed, perPair));
    const expected = clipVocabularyFiles(learnMerges(corpus));
    expect(JSON.parse(await readFile(`${MODEL_DIR}/tokenizer/vocab.json`, "utf8"))).toEqual(expected.vocab);
    expect(await readFile(`${MODEL_DIR}/tokenizer/merges.txt`, "utf8")).toBe(expected.merges);
    for (const caption of corpus.slice(0, 200)) {
      const words = captionWords(caption);
      const ids = Array.from(model.tokenizer.encode(caption));
      expect(ids.slice(1, 1 + words.length)).toEqual(words.map((word) => expected.vocab[`${word}</w>`]));
    }
    expect(model.textEncoder.config.vocab_size).toBe(Object.keys(expected.vocab).length);
  });

  it("ships a judge that names class and background of new scenes far above chance", async () => {
    const judge = await loadJudge(`${MODEL_DIR}/judge`);
    const scenes = judgeScenes(4242, 1).filter((_, i) => i % 12 === 0);
    const images = await Promise.all(scenes.map((scene) => renderScene(scene.scene)));
    const out = judge.forward(pixelsBatch(images));
    const classes = argmaxRows(out.classLogits.dataSync(), EMOJI_CLASSES.length);
    const backgrounds = argmaxRows(out.backgroundLogits.dataSync(), BACKGROUND_NAMES.length);
    tf.dispose(Object.values(out));
    expect(accuracy(classes, scenes.map((scene) => scene.classIndex))).toBeGreaterThan(0.8);
    expect(accuracy(backgrounds, scenes.map((scene) => scene.backgroundIndex))).toBeGreaterThan(0.9);
  });
});
