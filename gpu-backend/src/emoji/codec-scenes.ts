/**
 * Scenes for the autoencoder and the judge's identity head: any emoji a vendor's image package draws
 * (Noto has 3,786 images, skin tones included), on any of the backgrounds at any size, drawn from a
 * seeded generator. The VAE is a general emoji codec trained on all of Noto, so a drawing it never saw
 * (a benchmark subject) comes back with its own colours and edges; Twemoji is kept out of training
 * entirely and only measures how well that works (`heldOutCodecScenes`).
 */
import { createRequire } from "node:module";
import type { Random } from "../tensor/random.js";
import { BACKGROUND_NAMES, SIZE_WORDS, type DatasourceVendor } from "./catalog.js";
import type { Scene } from "./compose.js";
import { drawScene } from "./scenes.js";

interface EmojiEntry {
  image: string;
  has_img_google: boolean;
  has_img_twitter: boolean;
  skin_variations?: Record<string, EmojiEntry>;
}

const files = new Map<DatasourceVendor, string[]>();

/** Every image file of a vendor's package (`img/<vendor>/64/<file>`), sorted, so an index names one drawing for good. */
export function vendorEmojiFiles(vendor: DatasourceVendor): string[] {
  let list = files.get(vendor);
  if (!list) {
    const entries = createRequire(import.meta.url)(`emoji-datasource-${vendor}/emoji.json`) as EmojiEntry[];
    const has = (entry: EmojiEntry) => (vendor === "google" ? entry.has_img_google : entry.has_img_twitter);
    const all = entries.flatMap((entry) => [entry, ...Object.values(entry.skin_variations ?? {})]).filter(has);
    list = [...new Set(all.map((entry) => entry.image))].sort();
    files.set(vendor, list);
  }
  return list;
}

export interface CodecScene {
  scene: Scene;
  /** Index into `vendorEmojiFiles(vendor)`: the drawing's identity label. */
  identity: number;
  backgroundIndex: number;
  sizeIndex: number;
}

/** One random scene of any of the vendor's emoji (advances `random`). */
export function drawCodecScene(random: Random, vendor: DatasourceVendor): CodecScene {
  const list = vendorEmojiFiles(vendor);
  const identity = random.integer(list.length);
  const backgroundIndex = random.integer(BACKGROUND_NAMES.length);
  const sizeIndex = random.integer(SIZE_WORDS.length);
  return { scene: drawScene(random, vendor, list[identity], BACKGROUND_NAMES[backgroundIndex], SIZE_WORDS[sizeIndex]), identity, backgroundIndex, sizeIndex };
}

/** A fixed set of Twemoji scenes that no pretraining stage sees: where the codec's round trip is measured. */
export function heldOutCodecScenes(random: Random, count: number): CodecScene[] {
  return Array.from({ length: count }, () => drawCodecScene(random, "twitter"));
}
