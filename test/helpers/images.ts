/**
 * Tiny, genuinely valid JPEG, PNG and WebP encoders for uniform-colour images, so
 * the photo checks are tested on real file structures without shipping binary
 * fixtures: PNG with uncompressed ("stored") deflate blocks, baseline JPEG whose
 * 8×8 blocks are all "DC unchanged, end of block", lossless WebP (VP8L) whose five
 * prefix codes each have a single symbol (zero bits per pixel). `shade` varies the
 * colour, so two calls with different shades give different bytes (and sha256s).
 */
import { concatBytes as concat } from "../../functions/bytes.js";
import { PNG_SIGNATURE, pngChunk } from "../../functions/png.js";

const encoder = new TextEncoder();

const u32be = (value: number) => new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
const u16be = (value: number) => new Uint8Array([value >>> 8, value & 255]);
const u32le = (value: number) => new Uint8Array([value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24]);

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** zlib stream of stored (uncompressed) deflate blocks of at most 65535 bytes. */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [new Uint8Array([0x78, 0x01])];
  for (let at = 0; at < data.length || at === 0; at += 65535) {
    const block = data.subarray(at, at + 65535);
    const final = at + 65535 >= data.length ? 1 : 0;
    blocks.push(new Uint8Array([final, block.length & 255, block.length >>> 8, ~block.length & 255, (~block.length >>> 8) & 255]), block);
    if (data.length === 0) break;
  }
  blocks.push(u32be(adler32(data)));
  return concat(blocks);
}

export function makePng(width: number, height: number, shade = 128): Uint8Array {
  const ihdr = concat([u32be(width), u32be(height), new Uint8Array([8, 0, 0, 0, 0])]); // 8-bit greyscale
  const row = new Uint8Array(1 + width).fill(shade);
  row[0] = 0; // filter: none
  const raw = new Uint8Array(row.length * height);
  for (let y = 0; y < height; y++) raw.set(row, y * row.length);
  return concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlibStored(raw)),
    pngChunk("IEND", new Uint8Array()),
  ]);
}

/** A PNG whose header claims `width`×`height` but carries a few bytes of data: a decompression-bomb shape. */
export function makePngClaiming(width: number, height: number): Uint8Array {
  const ihdr = concat([u32be(width), u32be(height), new Uint8Array([8, 0, 0, 0, 0])]);
  return concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlibStored(new Uint8Array(16))),
    pngChunk("IEND", new Uint8Array()),
  ]);
}

function jpegSegment(marker: number, payload: Uint8Array): Uint8Array {
  return concat([new Uint8Array([0xff, marker]), u16be(payload.length + 2), payload]);
}

/** Greyscale baseline JPEG; each block codes DC difference 0 (code "0") then EOB (code "0"). */
export function makeJpeg(width: number, height: number, shade = 128): Uint8Array {
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const huffmanOneSymbol = (tableClassAndId: number) => {
    const counts = new Uint8Array(16);
    counts[0] = 1; // one code of length 1
    return concat([new Uint8Array([tableClassAndId]), counts, new Uint8Array([0])]);
  };
  // 2 zero bits per block, padded with 1-bits to a whole byte (the JPEG rule).
  const scan = new Uint8Array(Math.ceil((blocks * 2) / 8));
  const usedBits = (blocks * 2) % 8;
  if (usedBits) scan[scan.length - 1] = 0xff >>> usedBits;
  // The DC level comes from the quantiser: DC 0 decodes to mid-grey whatever `shade` says, so shade goes in a comment.
  return concat([
    new Uint8Array([0xff, 0xd8]),
    jpegSegment(0xe0, concat([encoder.encode("JFIF\0"), new Uint8Array([1, 1, 0, 0, 1, 0, 1, 0, 0])])),
    jpegSegment(0xfe, encoder.encode(`shade ${shade}`)),
    jpegSegment(0xdb, concat([new Uint8Array([0]), new Uint8Array(64).fill(1)])),
    jpegSegment(0xc0, concat([new Uint8Array([8]), u16be(height), u16be(width), new Uint8Array([1, 1, 0x11, 0])])),
    jpegSegment(0xc4, huffmanOneSymbol(0x00)),
    jpegSegment(0xc4, huffmanOneSymbol(0x10)),
    jpegSegment(0xda, new Uint8Array([1, 1, 0x00, 0, 63, 0])),
    scan,
    new Uint8Array([0xff, 0xd9]),
  ]);
}

/** Lossless WebP: five single-symbol prefix codes (green, red, blue, alpha, distance) → zero bits per pixel. */
export function makeWebp(width: number, height: number, shade = 128): Uint8Array {
  const bits: number[] = [];
  const write = (value: number, count: number) => {
    for (let i = 0; i < count; i++) bits.push((value >>> i) & 1);
  };
  write(0, 1); // no transform
  write(0, 1); // no colour cache
  write(0, 1); // no meta prefix codes
  for (const symbol of [shade, shade, shade, 255, 0]) {
    write(1, 1); // simple code
    write(0, 1); // one symbol
    write(1, 1); // 8-bit symbol
    write(symbol, 8);
  }
  const stream = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => (stream[i >> 3] |= bit << (i & 7)));
  const header = concat([new Uint8Array([0x2f]), u32le(((width - 1) | ((height - 1) << 14)) >>> 0)]);
  const payload = concat([header, stream]);
  const padded = payload.length % 2 ? concat([payload, new Uint8Array(1)]) : payload;
  const chunk = concat([encoder.encode("VP8L"), u32le(payload.length), padded]);
  return concat([encoder.encode("RIFF"), u32le(4 + chunk.length), encoder.encode("WEBP"), chunk]);
}
