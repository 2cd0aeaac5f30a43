/**
 * Subject photos a newcomer's model can learn: a real emoji of the subject's
 * class (Twemoji, CC-BY 4.0, from `emoji-datasource-twitter`: a drawing of a
 * class the embedded tiny-emoji model knows, in a style it never saw — the
 * benchmark's situation) on the flat background colours it was pretrained on,
 * at varied sizes and places, as 512×512 PNGs (finalize wants ≥ 256 px).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import sharp from "sharp";

const require = createRequire(import.meta.url);
const EMOJI_ROOT = dirname(require.resolve("emoji-datasource-twitter/package.json"));

/** Background colours of tiny-emoji's captions (gpu-backend/src/emoji/catalog.ts), sRGB. */
const BACKGROUNDS = { red: "#d62828", orange: "#f77f00", yellow: "#fcd73c", green: "#38b000", blue: "#1e60dc", purple: "#783cbe", pink: "#ffa0c8", white: "#f5f5f5" };

/** The emoji image file of a noun ("dog" → 1f436.png, "fox" → fox_face), or undefined when there is none. */
export function emojiFileOf(noun) {
  const emoji = require("emoji-datasource-twitter/emoji.json");
  const found = emoji.find((entry) => entry.has_img_twitter && (entry.short_names.includes(noun) || entry.short_names.includes(`${noun}_face`)));
  return found?.image;
}

/**
 * `count` distinct photos of the class's emoji, each on another background; throws for a class noun that
 * has no emoji, since any other picture would teach the model nothing it can draw.
 * @returns {Promise<{ name: string, bytes: Buffer }[]>}
 */
export async function emojiPhotos(classNoun, count) {
  const file = emojiFileOf(classNoun);
  if (!file) throw new Error(`no emoji is called "${classNoun}"; pick a class the model knows, e.g. dog, cat, apple`);
  const source = readFileSync(join(EMOJI_ROOT, "img", "twitter", "64", file));
  const colours = Object.entries(BACKGROUNDS);
  const photos = [];
  for (let index = 0; index < count; index++) {
    const [colourName, colour] = colours[(index * 3) % colours.length];
    const side = 256 + ((index * 37) % 128);
    const emoji = await sharp(source).resize(side, side, { kernel: "nearest" }).png().toBuffer();
    const left = 16 + ((index * 53) % (512 - side - 32));
    const top = 16 + ((index * 71) % (512 - side - 32));
    const bytes = await sharp({ create: { width: 512, height: 512, channels: 3, background: colour } })
      .composite([{ input: emoji, left, top }])
      .png()
      .toBuffer();
    photos.push({ name: `${classNoun}-${index + 1}-${colourName}.png`, bytes });
  }
  return photos;
}
