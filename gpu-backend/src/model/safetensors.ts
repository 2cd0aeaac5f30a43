/**
 * safetensors reading and writing, tensor by tensor. Stable Diffusion checkpoints are several GiB
 * (SD1.5's float32 UNet is 3.4 GiB, beyond one Node Buffer), so the reader parses only the header
 * and then fetches each tensor with a positional read at its offset; the writer streams tensors
 * one after another. Format: 8-byte little-endian header length N, N bytes of JSON
 * (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, offsets relative
 * to the first byte after the header, padded with spaces to 8-byte alignment), then the data.
 * Floating dtypes (F16/BF16/F32/F64) come back as float32, integer ones as int32, because those
 * are what tfjs computes with. Every failure names the file and, where there is one, the tensor.
 */
import { open, type FileHandle } from "node:fs/promises";
import { z } from "zod";

const BYTES_PER_ELEMENT = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
export type SafetensorsDtype = keyof typeof BYTES_PER_ELEMENT;
const DTYPES = Object.keys(BYTES_PER_ELEMENT) as [SafetensorsDtype, ...SafetensorsDtype[]];

/** What a tensor becomes on the host: the two dtypes tfjs computes with. */
export type HostTensor =
  | { dtype: "float32"; shape: number[]; data: Float32Array }
  | { dtype: "int32"; shape: number[]; data: Int32Array };

const HeaderEntrySchema = z.object({
  dtype: z.enum(DTYPES),
  shape: z.array(z.number().int().min(0)),
  data_offsets: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
});
type HeaderEntry = z.infer<typeof HeaderEntrySchema>;

/** A header entry with offsets made absolute (from the start of the file). */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  byteOffset: number;
  byteLength: number;
}

/** Refuse headers beyond this: real ones are a few hundred KiB; a huge length means a corrupt file. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

const elementCount = (shape: number[]) => shape.reduce((count, size) => count * size, 1);

/** IEEE half → float, exact for every half value (subnormals, infinities, NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** float → IEEE half with round-to-nearest-even, as PyTorch's `.half()` does. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const bits = f32Bits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    // Subnormal half: shift the full 24-bit significand, rounding to nearest even.
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const halfMantissa = significand >> shift;
    const remainder = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1);
    return sign | (halfMantissa + (roundUp ? 1 : 0));
  }
  const rounded = (halfExponent << 10) | (mantissa >> 13);
  const remainder = mantissa & 0x1fff;
  const roundUp = remainder > 0x1000 || (remainder === 0x1000 && (rounded & 1) === 1);
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (rounded + (roundUp ? 1 : 0));
}

/** bfloat16 is the top half of a float32. */
export function bfloat16ToFloat(bits: number): number {
  f32Bits[0] = bits << 16;
  return f32[0];
}

/** float → bfloat16 with round-to-nearest-even (NaN stays NaN). */
export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const bits = f32Bits[0];
  if (Number.isNaN(value)) return 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function decode(bytes: Uint8Array, info: TensorInfo, file: string): HostTensor {
  const count = elementCount(info.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const floats = () => new Float32Array(count);
  switch (info.dtype) {
    case "F32":
      // Buffer.alloc memory is 8-aligned and every host we run on is little-endian: view, don't copy.
      return { dtype: "float32", shape: info.shape, data: new Float32Array(bytes.buffer, bytes.byteOffset, count) };
    case "F16": {
      const data = floats();
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(i * 2, true));
      return { dtype: "float32", shape: info.shape, data };
    }
    case "BF16": {
      const data = floats();
      for (let i = 0; i < count; i++) data[i] = bfloat16ToFloat(view.getUint16(i * 2, true));
      return { dtype: "float32", shape: info.shape, data };
    }
    case "F64": {
      const data = floats();
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
      return { dtype: "float32", shape: info.shape, data };
    }
    case "I32":
      return { dtype: "int32", shape: info.shape, data: new Int32Array(bytes.buffer, bytes.byteOffset, count) };
    case "I64": {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = view.getBigInt64(i * 8, true);
        if (value > 2147483647n || value < -2147483648n) {
          throw new SafetensorsError(`${file}: tensor "${info.name}" holds an int64 value outside int32 range`);
        }
        data[i] = Number(value);
      }
      return { dtype: "int32", shape: info.shape, data };
    }
    case "I16": {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(i * 2, true);
      return { dtype: "int32", shape: info.shape, data };
    }
    case "I8": {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt8(i);
      return { dtype: "int32", shape: info.shape, data };
    }
    case "U8":
    case "BOOL":
      return { dtype: "int32", shape: info.shape, data: Int32Array.from(bytes) };
  }
}

/** Parses and validates a header against the data size; pure, so it is tested without files. */
export function parseHeader(
  headerBytes: Uint8Array,
  dataStart: number,
  fileSize: number,
  file: string,
): { tensors: TensorInfo[]; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new SafetensorsError(`${file}: header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new SafetensorsError(`${file}: header is not a JSON object`);
  }
  const dataSize = fileSize - dataStart;
  const tensors: TensorInfo[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      const parsed = z.record(z.string(), z.string()).safeParse(raw);
      if (!parsed.success) throw new SafetensorsError(`${file}: __metadata__ must map strings to strings`);
      metadata = parsed.data;
      continue;
    }
    const parsed = HeaderEntrySchema.safeParse(raw);
    if (!parsed.success) {
      throw new SafetensorsError(`${file}: tensor "${name}" has a malformed header entry: ${parsed.error.issues[0].message}`);
    }
    const entry: HeaderEntry = parsed.data;
    const [begin, end] = entry.data_offsets;
    const expectedBytes = elementCount(entry.shape) * BYTES_PER_ELEMENT[entry.dtype];
    if (end < begin || end - begin !== expectedBytes) {
      throw new SafetensorsError(
        `${file}: tensor "${name}" spans ${end - begin} bytes but ${entry.dtype}${JSON.stringify(entry.shape)} needs ${expectedBytes}`,
      );
    }
    if (end > dataSize) {
      throw new SafetensorsError(
        `${file}: tensor "${name}" ends at data byte ${end} but the file holds only ${dataSize} data bytes (truncated?)`,
      );
    }
    tensors.push({ name, dtype: entry.dtype, shape: entry.shape, byteOffset: dataStart + begin, byteLength: end - begin });
  }
  return { tensors, metadata };
}

/** An open safetensors file: header parsed, tensors fetched one at a time by positional reads. */
export class SafetensorsReader {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(path: string): Promise<SafetensorsReader> {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      if (size < 8) throw new SafetensorsError(`${path}: ${size} bytes is too short for a safetensors file`);
      const lengthBytes = Buffer.alloc(8);
      await readExactly(handle, lengthBytes, 0, path, "header length");
      const headerLength = lengthBytes.readBigUInt64LE(0);
      if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
        throw new SafetensorsError(`${path}: header length ${headerLength} exceeds the file (${size} bytes); not safetensors or truncated`);
      }
      const headerBytes = Buffer.alloc(Number(headerLength));
      await readExactly(handle, headerBytes, 8, path, "header");
      const { tensors, metadata } = parseHeader(headerBytes, 8 + headerBytes.length, size, path);
      return new SafetensorsReader(path, handle, new Map(tensors.map((info) => [info.name, info])), metadata);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  async read(name: string): Promise<HostTensor> {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor named "${name}"`);
    const bytes = Buffer.alloc(info.byteLength);
    await readExactly(this.handle, bytes, info.byteOffset, this.path, `tensor "${name}"`);
    return decode(bytes, info, this.path);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readExactly(handle: FileHandle, into: Buffer, position: number, file: string, what: string) {
  // A single read returns at most ~2 GiB; loop so any size works.
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (bytesRead === 0) throw new SafetensorsError(`${file}: unexpected end of file while reading ${what}`);
    done += bytesRead;
  }
}

/** Reads every tensor of a (small) file; large checkpoints should use SafetensorsReader directly. */
export async function readSafetensors(path: string): Promise<Map<string, HostTensor>> {
  const reader = await SafetensorsReader.open(path);
  try {
    const result = new Map<string, HostTensor>();
    for (const name of reader.names) result.set(name, await reader.read(name));
    return result;
  } finally {
    await reader.close();
  }
}

/**
 * A tensor to write: the dtype to store it as, its shape, and its values — or a function producing
 * them, so a multi-GiB model is downloaded from the accelerator one tensor at a time while writing.
 */
export interface TensorToWrite {
  dtype: "F32" | "F16" | "BF16" | "I32";
  shape: number[];
  data: Float32Array | Int32Array | (() => Promise<Float32Array | Int32Array>);
}

async function encode(tensor: TensorToWrite, name: string): Promise<Buffer> {
  const count = elementCount(tensor.shape);
  const data = typeof tensor.data === "function" ? await tensor.data() : tensor.data;
  if (data.length !== count) {
    throw new SafetensorsError(`tensor "${name}": ${data.length} values do not fill shape ${JSON.stringify(tensor.shape)}`);
  }
  if (tensor.dtype === "F32" || tensor.dtype === "I32") {
    // Little-endian host: the typed array's bytes are the file's bytes (after a dtype-correct copy).
    const typed = tensor.dtype === "F32" ? Float32Array.from(data) : Int32Array.from(data);
    return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  const bytes = Buffer.alloc(count * BYTES_PER_ELEMENT[tensor.dtype]);
  for (let i = 0; i < count; i++) {
    const bits = tensor.dtype === "F16" ? floatToHalf(data[i]) : floatToBfloat16(data[i]);
    bytes.writeUInt16LE(bits, i * 2);
  }
  return bytes;
}

/** The header bytes (length prefix + space-padded JSON) for tensors laid out in the given order. */
function headerFor(tensors: [string, TensorToWrite][], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const size = elementCount(tensor.shape) * BYTES_PER_ELEMENT[tensor.dtype];
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json)]);
}

/** Writes tensors as safetensors, streaming one tensor at a time (memory stays one tensor wide). */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<[string, TensorToWrite]>,
  metadata?: Record<string, string>,
): Promise<void> {
  const entries = [...tensors];
  const handle = await open(path, "w");
  try {
    const header = headerFor(entries, metadata);
    await handle.write(header, 0, header.length, 0);
    let position = header.length;
    for (const [name, tensor] of entries) {
      const bytes = await encode(tensor, name);
      await handle.write(bytes, 0, bytes.length, position);
      position += bytes.length;
    }
  } finally {
    await handle.close();
  }
}
