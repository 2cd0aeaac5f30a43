/**
 * A minimal POSIX ustar writer and reader for flat archives of small files. The
 * class-image set travels as one object (one upload slot, one cache entry, one
 * checksum); tar keeps it a format anyone can open with `tar -x` to look at the
 * images the prior was trained on.
 */
const BLOCK = 512;

export interface TarEntry {
  name: string;
  bytes: Uint8Array;
}

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const encoded = new TextEncoder().encode(value);
  if (encoded.length > length) throw new Error(`tar: "${value}" does not fit ${length} bytes`);
  header.set(encoded, offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  writeString(header, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

export function createTar(entries: TarEntry[]): Uint8Array {
  const size = entries.reduce((total, entry) => total + BLOCK + Math.ceil(entry.bytes.length / BLOCK) * BLOCK, 0);
  const archive = new Uint8Array(size + 2 * BLOCK);
  let offset = 0;
  for (const entry of entries) {
    const header = archive.subarray(offset, offset + BLOCK);
    writeString(header, 0, 100, entry.name);
    writeOctal(header, 100, 8, 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, entry.bytes.length);
    writeOctal(header, 136, 12, 0);
    header.fill(0x20, 148, 156);
    header[156] = 0x30;
    writeString(header, 257, 8, "ustar\u000000");
    const checksum = header.reduce((sum, byte) => sum + byte, 0);
    writeString(header, 148, 8, checksum.toString(8).padStart(6, "0") + "\0 ");
    archive.set(entry.bytes, offset + BLOCK);
    offset += BLOCK + Math.ceil(entry.bytes.length / BLOCK) * BLOCK;
  }
  return archive;
}

export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  const decoder = new TextDecoder();
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) => decoder.decode(header.subarray(start, start + length)).replace(/\0.*$/s, "");
    const name = field(0, 100);
    const size = parseInt(field(124, 12).trim(), 8);
    const stored = header.reduce((sum, byte, index) => sum + (index >= 148 && index < 156 ? 0x20 : byte), 0);
    if (!Number.isFinite(size) || parseInt(field(148, 8).trim(), 8) !== stored) {
      throw new Error(`tar: corrupt header at byte ${offset}`);
    }
    entries.push({ name, bytes: archive.slice(offset + BLOCK, offset + BLOCK + size) });
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}
