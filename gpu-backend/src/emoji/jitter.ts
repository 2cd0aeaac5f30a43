/**
 * Colour and brightness jitter of an emoji drawing, for the UNet's pretraining: with one drawing per
 * class the UNet would learn "dog" as that exact picture and a subject of another palette would have
 * no place in its prior. Jittered copies make a class a distribution of drawings (brighter, darker,
 * warmer, cooler), while the background — which captions name — stays the colour it is.
 */
import type { Random } from "../tensor/random.js";
import type { Sprite } from "./compose.js";

export interface ColourJitter {
  /** Multiplies every channel (1 = unchanged). */
  brightness: number;
  /** Multiplies each of R, G, B on top of the brightness. */
  gains: [number, number, number];
  /** Hue rotation in turns (0 = none), applied first, as CSS `hue-rotate`. */
  hueTurn?: number;
  /** Saturation factor (1 = unchanged, 0 = grey), as CSS `saturate`. */
  saturation?: number;
}

/** Brightness in [0.75, 1.25], each channel gain in [0.85, 1.15]. */
export function drawJitter(random: Random): ColourJitter {
  const around = (spread: number) => 1 - spread + 2 * spread * random.uniform();
  return { brightness: around(0.25), gains: [around(0.15), around(0.15), around(0.15)] };
}

/**
 * For the judge, which must name a class whatever palette a vendor gave it (Noto's octopus is red,
 * Twemoji's purple): `drawJitter`'s range, plus a saturation factor in [0.5, 1.3] and, a quarter of the
 * time, a hue rotation by any angle — so shape carries the class, with colour a frequent but not
 * certain cue.
 */
export function drawStrongJitter(random: Random): ColourJitter {
  const base = drawJitter(random);
  const saturation = 0.5 + 0.8 * random.uniform();
  const hueTurn = random.uniform() < 0.25 ? random.uniform() : 0;
  return { ...base, saturation, hueTurn };
}

/** The 3×3 RGB matrix of CSS `saturate(s)` followed by `hue-rotate(turn)` (Filter Effects, luminance-preserving). */
export function colourMatrix(hueTurn: number, saturation: number): number[] {
  const [cos, sin] = [Math.cos(2 * Math.PI * hueTurn), Math.sin(2 * Math.PI * hueTurn)];
  const hue = [
    0.213 + cos * 0.787 - sin * 0.213, 0.715 - cos * 0.715 - sin * 0.715, 0.072 - cos * 0.072 + sin * 0.928,
    0.213 - cos * 0.213 + sin * 0.143, 0.715 + cos * 0.285 + sin * 0.14, 0.072 - cos * 0.072 - sin * 0.283,
    0.213 - cos * 0.213 - sin * 0.787, 0.715 - cos * 0.715 + sin * 0.715, 0.072 + cos * 0.928 + sin * 0.072,
  ];
  const s = saturation;
  const saturate = [
    0.213 + 0.787 * s, 0.715 - 0.715 * s, 0.072 - 0.072 * s,
    0.213 - 0.213 * s, 0.715 + 0.285 * s, 0.072 - 0.072 * s,
    0.213 - 0.213 * s, 0.715 - 0.715 * s, 0.072 + 0.928 * s,
  ];
  return Array.from({ length: 9 }, (_, k) => {
    const [row, column] = [Math.floor(k / 3), k % 3];
    return hue[row * 3] * saturate[column] + hue[row * 3 + 1] * saturate[3 + column] + hue[row * 3 + 2] * saturate[6 + column];
  });
}

/** Pure: the sprite with its colours rotated, saturated, scaled and clipped to bytes; alpha untouched. */
export function jitterSprite(sprite: Sprite, jitter: ColourJitter): Sprite {
  const rgba = Uint8Array.from(sprite.rgba);
  const matrix = jitter.hueTurn || (jitter.saturation ?? 1) !== 1 ? colourMatrix(jitter.hueTurn ?? 0, jitter.saturation ?? 1) : undefined;
  for (let i = 0; i < rgba.length; i += 4) {
    const rgb = [sprite.rgba[i], sprite.rgba[i + 1], sprite.rgba[i + 2]];
    for (let c = 0; c < 3; c++) {
      const value = matrix ? matrix[c * 3] * rgb[0] + matrix[c * 3 + 1] * rgb[1] + matrix[c * 3 + 2] * rgb[2] : rgb[c];
      rgba[i + c] = Math.min(255, Math.max(0, Math.round(value * jitter.brightness * jitter.gains[c])));
    }
  }
  return { size: sprite.size, rgba };
}
