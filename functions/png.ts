/**
 * The Worker's one PNG writer: chunks with their CRC, and a minimal encoder for the
 * fake backend's placeholder images (8-bit RGB, one zlib stream made by the
 * platform's CompressionStream, a `tEXt` chunk saying the image is a placeholder).
 * Enough for a valid file any viewer or `image-size` reads, without a codec
 * dependency in the Worker; the tests' image fixtures build on the same chunks.
 */
import { concatBytes } from "./bytes.js";
import { crc32 } from "./crc32.js";

export const PNG_SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function zlib(raw: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A width×height RGB PNG whose pixels come from `pixel(x, y)`. */
export async function encodePng(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
  comment: string,
): Promise<Uint8Array> {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, no filter method, no interlace
  const rowLength = 1 + width * 3;
  const raw = new Uint8Array(rowLength * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * rowLength + 1 + x * 3);
  }
  const text = new TextEncoder().encode(`Comment\0${comment}`);
  return concatBytes([
    PNG_SIGNATURE,
    pngChunk("IHDR", header),
    pngChunk("tEXt", text),
    pngChunk("IDAT", await zlib(raw)),
    pngChunk("IEND", new Uint8Array()),
  ]);
}
