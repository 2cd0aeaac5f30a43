/**
 * The benchmark's labelled contact sheet: one row per prompt (named on the left), one column per run
 * (named on top), every image enlarged ×3 with nearest neighbour. The grid is contact-sheet.ts's; the
 * names are an SVG layer that sharp renders, so a reader of the model card sees what each cell is.
 */
import sharp from "sharp";
import type { Pixels } from "../../src/dreambooth/images.js";
import { contactSheet } from "./contact-sheet.js";

const LABEL_WIDTH = 230;
const HEADER_HEIGHT = 22;
const CELL = 32 * 3 + 2;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export async function labelledSheet(columns: string[], rows: { label: string; images: Pixels[] }[]): Promise<Uint8Array> {
  const grid = await contactSheet(rows.map((row) => row.images));
  const { width = 0, height = 0 } = await sharp(grid).metadata();
  const text = (x: number, y: number, value: string) => `<text x="${x}" y="${y}" font-family="sans-serif" font-size="12" fill="#eee">${escape(value)}</text>`;
  const svg = [
    `<svg width="${LABEL_WIDTH + width}" height="${HEADER_HEIGHT + height}" xmlns="http://www.w3.org/2000/svg">`,
    `<rect width="100%" height="100%" fill="#282828"/>`,
    ...columns.map((name, c) => text(LABEL_WIDTH + 2 + c * CELL, 15, name)),
    ...rows.map((row, r) => text(4, HEADER_HEIGHT + 2 + r * CELL + CELL / 2, row.label)),
    "</svg>",
  ].join("");
  const png = await sharp(Buffer.from(svg))
    .composite([{ input: Buffer.from(grid), left: LABEL_WIDTH, top: HEADER_HEIGHT }])
    .png()
    .toBuffer();
  return new Uint8Array(png);
}
