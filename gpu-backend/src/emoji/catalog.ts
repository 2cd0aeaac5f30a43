/**
 * What the embedded base model was taught: 32 emoji with one clear noun each (Noto Color Emoji, the
 * images `emoji-datasource-google` ships under Apache-2.0), eight background colours and three sizes.
 * Captions are built from these words only, so the tokenizer learned from them covers every prompt
 * the benchmark writes. The benchmark's subjects come from another vendor (Twemoji) for two of these
 * nouns: the class is known to the model, the individual drawing is not — DreamBench's situation.
 */
import { createRequire } from "node:module";
import path from "node:path";

export interface EmojiClass {
  noun: string;
  /** The image file name in emoji-datasource-* (`img/<vendor>/64/<file>`). */
  file: string;
}

export const EMOJI_CLASSES: readonly EmojiClass[] = [
  ["dog", "1f436"], ["cat", "1f431"], ["mouse", "1f42d"], ["rabbit", "1f430"], ["fox", "1f98a"],
  ["bear", "1f43b"], ["panda", "1f43c"], ["tiger", "1f42f"], ["lion", "1f981"], ["cow", "1f42e"],
  ["pig", "1f437"], ["frog", "1f438"], ["monkey", "1f435"], ["chicken", "1f414"], ["penguin", "1f427"],
  ["owl", "1f989"], ["fish", "1f41f"], ["whale", "1f433"], ["octopus", "1f419"], ["turtle", "1f422"],
  ["bee", "1f41d"], ["ladybug", "1f41e"], ["apple", "1f34e"], ["banana", "1f34c"], ["grapes", "1f347"],
  ["strawberry", "1f353"], ["lemon", "1f34b"], ["pineapple", "1f34d"], ["watermelon", "1f349"],
  ["carrot", "1f955"], ["pizza", "1f355"], ["cactus", "1f335"],
].map(([noun, code]) => ({ noun, file: `${code}.png` }));

/** Background colours by name, sRGB. */
export const BACKGROUNDS: Readonly<Record<string, readonly [number, number, number]>> = {
  red: [214, 40, 40],
  orange: [247, 127, 0],
  yellow: [252, 215, 60],
  green: [56, 176, 0],
  blue: [30, 96, 220],
  purple: [120, 60, 190],
  pink: [255, 160, 200],
  white: [245, 245, 245],
};
export const BACKGROUND_NAMES = Object.keys(BACKGROUNDS);

/** Emoji edge length in pixels per size word, on a 32×32 canvas; "" is the unmarked middle size. */
export const SIZES = { small: [11, 15], "": [16, 22], big: [24, 30] } as const satisfies Record<string, readonly [number, number]>;
export type SizeWord = keyof typeof SIZES;
export const SIZE_WORDS = Object.keys(SIZES) as SizeWord[];

export const IMAGE_SIZE = 32;

/**
 * Who drew an emoji: Noto (`google`, what the model learned), Twemoji (`twitter`, the benchmark's
 * held-out subjects), and two more styles only the judge's class head sees, so that it names a class
 * by its shape and not by one vendor's way of drawing it: OpenMoji (CC BY-SA 4.0) and Microsoft's
 * Fluent Emoji, flat style (`fluent`, MIT, from the npm package `fluentui-emoji`).
 */
export type Vendor = DatasourceVendor | SvgVendor;
/** The vendors whose drawings are SVGs, rasterised and cut square by `compose.ts`. */
export const SVG_VENDORS = ["openmoji", "fluent"] as const;
export type SvgVendor = (typeof SVG_VENDORS)[number];
export const isSvgVendor = (vendor: Vendor): vendor is SvgVendor => (SVG_VENDORS as readonly Vendor[]).includes(vendor);
/** The vendors whose images come in an `emoji-datasource-*` package (64×64 PNGs). */
export type DatasourceVendor = "google" | "twitter";

/**
 * Fluent names its files by the emoji's CLDR short name, which is the Unicode character name
 * (`DOG FACE` → `dog-face`) except where CLDR chose a shorter one; these are the drawings of ours
 * where it did (code points → file stem).
 */
const FLUENT_CLDR_NAMES: Readonly<Record<string, string>> = {
  "1f98a": "fox", "1f43b": "bear", "1f43c": "panda", "1f981": "lion", "1f438": "frog", "1f355": "pizza",
  "1f638": "grinning-cat-with-smiling-eyes", "1f63a": "grinning-cat", "1f63c": "cat-with-wry-smile",
};

/** The Fluent flat SVG's file stem for a datasource file name. */
function fluentName(file: string): string {
  const code = file.replace(/\.png$/, "");
  const fixed = FLUENT_CLDR_NAMES[code];
  if (fixed) return fixed;
  const entries = createRequire(import.meta.url)("emoji-datasource-google/emoji.json") as { image: string; name: string }[];
  const entry = entries.find((candidate) => candidate.image === file);
  if (!entry) throw new Error(`no emoji ${file} in emoji-datasource`);
  return entry.name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

/**
 * Absolute path of an emoji's image in the installed package of a vendor, by its datasource file
 * name (`1f436.png`): a 64×64 PNG, or for the SVG vendors the drawing of the same code points.
 */
export function emojiImagePath(vendor: Vendor, file: string): string {
  const require = createRequire(import.meta.url);
  if (vendor === "openmoji") {
    const root = path.dirname(require.resolve("openmoji/package.json"));
    return path.join(root, "color", "svg", `${file.replace(/\.png$/, "").toUpperCase()}.svg`);
  }
  if (vendor === "fluent") {
    const root = path.dirname(require.resolve("fluentui-emoji/package.json"));
    return path.join(root, "icons", "flat", `${fluentName(file)}.svg`);
  }
  const root = path.dirname(require.resolve(`emoji-datasource-${vendor}/package.json`));
  return path.join(root, "img", vendor, "64", file);
}

/** The background colour held out of pretraining for class `index`, to test unseen combinations. */
export function heldOutBackground(classIndex: number): string {
  return BACKGROUND_NAMES[classIndex % BACKGROUND_NAMES.length];
}
