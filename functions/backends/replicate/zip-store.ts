/**
 * A streaming zip writer for the one archive Replicate trainers take as input:
 * the subject's photos, stored (no compression: JPEG and PNG do not shrink) and
 * written as they stream out of R2, so no photo is ever held whole in memory.
 *
 * Each entry's CRC-32 is known only after its bytes have passed, so entries carry
 * a data descriptor (general-purpose flag bit 3) after their data, as the zip spec
 * allows for streamed writers. Sizes are known up front from R2, which makes the
 * archive's total length known before the first byte — what `R2Bucket.put` and a
 * `FixedLengthStream` need. No zip64: inputs are a few photos, far below 4 GiB.
 */
import { crc32Update } from "../../crc32.js";
export interface ZipEntry {
  /** Path inside the archive (UTF-8). */
  name: string;
  /** Exact byte length of the entry; a source yielding more or fewer bytes aborts the archive. */
  size: number;
  open(): Promise<ReadableStream<Uint8Array>>;
}

const LOCAL_HEADER = 30;
const DATA_DESCRIPTOR = 16;
const CENTRAL_HEADER = 46;
const END_OF_CENTRAL_DIRECTORY = 22;
/** Bit 3: sizes and CRC follow the data; bit 11: the name is UTF-8. */
const FLAGS = 0x0808;
const VERSION = 20;
/** 1980-01-01 00:00, the earliest DOS date: archives of the same photos are byte-identical. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const MAX_32 = 0xffffffff;

const encoder = new TextEncoder();

/** The archive's exact byte length for these entries. */
export function zipLength(entries: readonly Pick<ZipEntry, "name" | "size">[]): number {
  let length = END_OF_CENTRAL_DIRECTORY;
  for (const entry of entries) {
    const nameLength = encoder.encode(entry.name).length;
    length += LOCAL_HEADER + nameLength + entry.size + DATA_DESCRIPTOR + CENTRAL_HEADER + nameLength;
  }
  return length;
}

interface Written {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

function localHeader(name: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(LOCAL_HEADER + name.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x04034b50, true);
  view.setUint16(4, VERSION, true);
  view.setUint16(6, FLAGS, true);
  view.setUint16(8, 0, true); // method: stored
  view.setUint16(10, DOS_TIME, true);
  view.setUint16(12, DOS_DATE, true);
  // CRC and sizes (offsets 14–25) stay zero: the data descriptor carries them.
  view.setUint16(26, name.length, true);
  bytes.set(name, LOCAL_HEADER);
  return bytes;
}

function dataDescriptor(entry: Written): Uint8Array {
  const bytes = new Uint8Array(DATA_DESCRIPTOR);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x08074b50, true);
  view.setUint32(4, entry.crc, true);
  view.setUint32(8, entry.size, true);
  view.setUint32(12, entry.size, true);
  return bytes;
}

function centralHeader(entry: Written): Uint8Array {
  const bytes = new Uint8Array(CENTRAL_HEADER + entry.name.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x02014b50, true);
  view.setUint16(4, VERSION, true);
  view.setUint16(6, VERSION, true);
  view.setUint16(8, FLAGS, true);
  view.setUint16(10, 0, true);
  view.setUint16(12, DOS_TIME, true);
  view.setUint16(14, DOS_DATE, true);
  view.setUint32(16, entry.crc, true);
  view.setUint32(20, entry.size, true);
  view.setUint32(24, entry.size, true);
  view.setUint16(28, entry.name.length, true);
  // Extra, comment, disk number and attributes (offsets 30–41) are all zero.
  view.setUint32(42, entry.offset, true);
  bytes.set(entry.name, CENTRAL_HEADER);
  return bytes;
}

function endOfCentralDirectory(count: number, size: number, offset: number): Uint8Array {
  const bytes = new Uint8Array(END_OF_CENTRAL_DIRECTORY);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x06054b50, true);
  view.setUint16(8, count, true);
  view.setUint16(10, count, true);
  view.setUint32(12, size, true);
  view.setUint32(16, offset, true);
  return bytes;
}

async function* zipChunks(entries: readonly ZipEntry[]): AsyncGenerator<Uint8Array> {
  const written: Written[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const header = localHeader(name);
    yield header;
    let crc = 0;
    let size = 0;
    const reader = (await entry.open()).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      crc = crc32Update(crc, chunk.value);
      size += chunk.value.byteLength;
      if (size > entry.size) throw new Error(`zip entry ${entry.name} is longer than its declared ${entry.size} bytes`);
      yield chunk.value;
    }
    if (size !== entry.size) throw new Error(`zip entry ${entry.name} has ${size} bytes, not the declared ${entry.size}`);
    const done = { name, crc, size, offset };
    yield dataDescriptor(done);
    written.push(done);
    offset += header.length + size + DATA_DESCRIPTOR;
  }
  let directorySize = 0;
  for (const entry of written) {
    const header = centralHeader(entry);
    directorySize += header.length;
    yield header;
  }
  yield endOfCentralDirectory(written.length, directorySize, offset);
}

/** The archive as a byte stream, with its length known before it starts. */
export function zipStore(entries: readonly ZipEntry[]): { stream: ReadableStream<Uint8Array>; length: number } {
  const length = zipLength(entries);
  if (entries.length > 0xffff || length > MAX_32) throw new Error("archive too large for a zip without zip64");
  const chunks = zipChunks(entries);
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return { stream, length };
}
