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
}

/** Brightness in [0.75, 1.25], each channel gain in [0.85, 1.15]. */
export function drawJitter(random: Random): ColourJitter {
  const around = (spread: number) => 1 - spread + 2 * spread * random.uniform();
  return { brightness: around(0.25), gains: [around(0.15), around(0.15), around(0.15)] };
}

/** Pure: the sprite with its colours scaled and clipped to bytes; alpha untouched. */
export function jitterSprite(sprite: Sprite, jitter: ColourJitter): Sprite {
  const rgba = Uint8Array.from(sprite.rgba);
  for (let i = 0; i < rgba.length; i += 4) {
    for (let c = 0; c < 3; c++) rgba[i + c] = Math.min(255, Math.round(sprite.rgba[i + c] * jitter.brightness * jitter.gains[c]));
  }
  return { size: sprite.size, rgba };
}
