/**
 * The files the fake backend "produces", each unmistakably a placeholder: images
 * are flat gradients tinted by their seed with a PNG comment saying so, weights are
 * valid safetensors files holding no tensors and `"placeholder": "true"` in their
 * metadata, so nothing downstream can take them for a trained model.
 */
import { encodePng } from "../../png.js";

export const PLACEHOLDER_NOTE = "placeholder from the fake backend; not a trained model";

/** A gradient whose hue depends on the seed, so different seeds give visibly different images. */
export function placeholderImage(width: number, height: number, seed: number): Promise<Uint8Array> {
  const tint = [(seed * 97) % 256, (seed * 57 + 80) % 256, (seed * 31 + 160) % 256];
  return encodePng(
    width,
    height,
    (x, y) => [
      (tint[0] + Math.floor((x * 128) / width)) % 256,
      (tint[1] + Math.floor((y * 128) / height)) % 256,
      tint[2],
    ],
    `${PLACEHOLDER_NOTE} (seed ${seed})`,
  );
}

/** A safetensors file (8-byte little-endian header length, JSON header) with metadata only. */
export function placeholderSafetensors(metadata: Record<string, string>): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ __metadata__: { placeholder: "true", note: PLACEHOLDER_NOTE, ...metadata } }),
  );
  const out = new Uint8Array(8 + header.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  return out;
}

export function placeholderText(what: string): Uint8Array {
  return new TextEncoder().encode(`${what}: ${PLACEHOLDER_NOTE}\n`);
}
