/**
 * The pretraining set in memory: the scenes of `pretrainingScenes`, rendered, with the tokenizer
 * files learned from their captions plus the benchmark's words. Everything follows from the seed, so
 * a resumed pretraining sees the same images and token ids as the run it continues. The UNet also
 * learns from colour-jittered copies of each scene (jitter.ts), drawn from their own seed.
 */
import type { Pixels } from "../dreambooth/images.js";
import { clipVocabularyFiles, learnMerges, type ClipVocabularyFiles } from "./bpe-vocab.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS } from "./catalog.js";
import { renderScene } from "./compose.js";
import { drawJitter } from "./jitter.js";
import { Random } from "../tensor/random.js";
import { caption, pretrainingScenes, type CaptionedScene } from "./scenes.js";

export interface PretrainingSet {
  scenes: CaptionedScene[];
  images: Pixels[];
  vocabulary: ClipVocabularyFiles;
}

/** Every caption shape any noun/background/size can produce, so no prompt word is left to bytes. */
export function vocabularyCorpus(scenes: CaptionedScene[]): string[] {
  const nouns = EMOJI_CLASSES.map((entry) => entry.noun);
  const extra = nouns.flatMap((noun) =>
    BACKGROUND_NAMES.flatMap((background) => SIZE_WORDS.map((sizeWord) => caption(noun, { background, sizeWord: sizeWord || undefined, photo: true }))),
  );
  return [...scenes.map((scene) => scene.caption), ...extra];
}

export async function loadPretrainingSet(seed: number, perPair: number): Promise<PretrainingSet> {
  const scenes = pretrainingScenes(seed, perPair);
  const images: Pixels[] = [];
  for (const { scene } of scenes) images.push(await renderScene(scene));
  return { scenes, images, vocabulary: clipVocabularyFiles(learnMerges(vocabularyCorpus(scenes))) };
}

/** `copies` colour-jittered renders of every scene (same place, size and background), per scene. */
export async function jitteredCopies(scenes: CaptionedScene[], copies: number, seed: number): Promise<Pixels[][]> {
  const random = new Random(seed);
  const out: Pixels[][] = [];
  for (const { scene } of scenes) {
    const renders: Pixels[] = [];
    for (let k = 0; k < copies; k++) renders.push(await renderScene({ ...scene, jitter: drawJitter(random) }));
    out.push(renders);
  }
  return out;
}
