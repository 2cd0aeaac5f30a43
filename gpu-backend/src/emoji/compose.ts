/**
 * Rendering a scene: one emoji, resized to its size, alpha-blended onto a flat background at a
 * position. The blend is plain arithmetic on raw pixels (only the resize goes through sharp, once per
 * emoji and size), so a scene always renders to the same bytes and tests can check it exactly.
 */
import sharp, { type Sharp } from "sharp";
import type { Pixels } from "../dreambooth/images.js";
import { BACKGROUNDS, emojiImagePath, IMAGE_SIZE, isSvgVendor, type Vendor } from "./catalog.js";
import { jitterSprite, type ColourJitter } from "./jitter.js";

export interface Scene {
  vendor: Vendor;
  file: string;
  background: string;
  /** Added to every channel of the background colour (small, keeps flat colours from being one value). */
  backgroundShift: number;
  /** Edge length of the emoji in pixels. */
  size: number;
  /** Top-left corner; may be partly outside the canvas. */
  x: number;
  y: number;
  /** Colour jitter of the drawing (not the background); absent = the drawing as its vendor made it. */
  jitter?: ColourJitter;
  /** Draw the emoji mirrored left to right. */
  mirrored?: boolean;
}

/** An RGBA sprite, 8-bit, row-major. */
export interface Sprite {
  size: number;
  rgba: Uint8Array;
}

const sprites = new Map<string, Promise<Sprite>>();

/** The emoji at `size`×`size`, cached per process. */
export function loadSprite(vendor: Vendor, file: string, size: number): Promise<Sprite> {
  const key = `${vendor}/${file}/${size}`;
  let sprite = sprites.get(key);
  if (!sprite) {
    sprite = source(vendor, file)
      .then((image) => image.ensureAlpha().resize(size, size, { kernel: "lanczos3" }).raw().toBuffer())
      .then((buffer) => ({ size, rgba: new Uint8Array(buffer) }));
    sprites.set(key, sprite);
  }
  return sprite;
}

/** SVG drawings cut square, per vendor and file: rasterising and trimming an SVG is the slow part, and every size reuses it. */
const svgSquares = new Map<string, Promise<Buffer>>();

/**
 * The vendor's image, square, ready to resize. The PNG vendors draw edge to edge in their 64×64
 * squares; the SVG vendors leave margins (OpenMoji about a sixth of its 72-unit grid, Fluent a
 * little of its 32-unit one), so their drawings are rasterised at density 256 (256 px for OpenMoji,
 * 114 for Fluent, both above the largest sprite) and cut to the drawing's bounding box, centred in a
 * transparent square, which then fills the sprite as the others do.
 */
async function source(vendor: Vendor, file: string): Promise<Sharp> {
  if (!isSvgVendor(vendor)) return sharp(emojiImagePath(vendor, file));
  const key = `${vendor}/${file}`;
  let square = svgSquares.get(key);
  if (!square) {
    square = (async () => {
      const { data, info } = await sharp(emojiImagePath(vendor, file), { density: 256 }).trim({ threshold: 1 }).png().toBuffer({ resolveWithObject: true });
      const side = Math.max(info.width, info.height);
      // sharp runs extend after resize whatever the call order, so the square is made in a pass of its own.
      return sharp(data).extend({
        top: Math.floor((side - info.height) / 2), bottom: Math.ceil((side - info.height) / 2),
        left: Math.floor((side - info.width) / 2), right: Math.ceil((side - info.width) / 2),
        background: { r: 0, g: 0, b: 0, alpha: 0 },
      }).png().toBuffer();
    })();
    svgSquares.set(key, square);
  }
  return sharp(await square);
}

/** Pure: the sprite mirrored left to right. */
export function mirrorSprite(sprite: Sprite): Sprite {
  const rgba = new Uint8Array(sprite.rgba.length);
  for (let row = 0; row < sprite.size; row++) {
    for (let column = 0; column < sprite.size; column++) {
      const from = (row * sprite.size + column) * 4;
      rgba.set(sprite.rgba.subarray(from, from + 4), (row * sprite.size + sprite.size - 1 - column) * 4);
    }
  }
  return { size: sprite.size, rgba };
}

/** Pure: `sprite` over a flat `rgb` canvas of `canvas`×`canvas` at (x, y), as HWC pixels in [-1, 1]. */
export function blend(sprite: Sprite, rgb: readonly [number, number, number], x: number, y: number, canvas = IMAGE_SIZE): Pixels {
  const data = new Float32Array(canvas * canvas * 3);
  for (let row = 0; row < canvas; row++) {
    for (let column = 0; column < canvas; column++) {
      const sx = column - x;
      const sy = row - y;
      const inside = sx >= 0 && sy >= 0 && sx < sprite.size && sy < sprite.size;
      const source = (sy * sprite.size + sx) * 4;
      const alpha = inside ? sprite.rgba[source + 3] / 255 : 0;
      for (let c = 0; c < 3; c++) {
        const value = alpha * (inside ? sprite.rgba[source + c] : 0) + (1 - alpha) * rgb[c];
        data[(row * canvas + column) * 3 + c] = value / 127.5 - 1;
      }
    }
  }
  return { width: canvas, height: canvas, data };
}

export async function renderScene(scene: Scene): Promise<Pixels> {
  const drawn = await loadSprite(scene.vendor, scene.file, scene.size);
  const jittered = scene.jitter ? jitterSprite(drawn, scene.jitter) : drawn;
  const sprite = scene.mirrored ? mirrorSprite(jittered) : jittered;
  const base = BACKGROUNDS[scene.background];
  if (!base) throw new Error(`unknown background "${scene.background}"`);
  const rgb = base.map((value) => Math.min(255, Math.max(0, value + scene.backgroundShift))) as [number, number, number];
  return blend(sprite, rgb, scene.x, scene.y);
}
