/**
 * A contact sheet per run: the subject's photos on the first row, then one row per prompt with its
 * generations across seeds, every image enlarged ×3 (nearest neighbour, so pixels stay pixels).
 */
import sharp from "sharp";
import type { Pixels } from "../../src/dreambooth/images.js";

const SCALE = 3;
const GAP = 2;

export async function contactSheet(rows: Pixels[][]): Promise<Uint8Array> {
  const side = rows[0][0].width * SCALE;
  const columns = Math.max(...rows.map((row) => row.length));
  const width = columns * (side + GAP) + GAP;
  const height = rows.length * (side + GAP) + GAP;
  const canvas = Buffer.alloc(width * height * 3, 40);
  rows.forEach((row, r) =>
    row.forEach((image, c) => {
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const source = (Math.floor(y / SCALE) * image.width + Math.floor(x / SCALE)) * 3;
          const target = ((GAP + r * (side + GAP) + y) * width + GAP + c * (side + GAP) + x) * 3;
          for (let k = 0; k < 3; k++) canvas[target + k] = Math.round(Math.min(1, Math.max(0, image.data[source + k] / 2 + 0.5)) * 255);
        }
      }
    }),
  );
  return new Uint8Array(await sharp(canvas, { raw: { width, height, channels: 3 } }).png().toBuffer());
}
