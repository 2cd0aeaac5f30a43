import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  readSafetensors,
  SafetensorsReader,
  writeSafetensors,
} from "./safetensors.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "safetensors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a safetensors file by hand: header object + raw data bytes, optional header padding. */
function handMade(header: Record<string, unknown>, data: Buffer, pad = 0): Buffer {
  const json = Buffer.from(JSON.stringify(header) + " ".repeat(pad));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}

describe("half and bfloat16 conversion", () => {
  // Bit patterns from the IEEE 754 binary16 table and bfloat16 = top 16 bits of float32 (rounded).
  const halves: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [0.1, 0x2e66],
    [Infinity, 0x7c00],
    [1e6, 0x7c00],
    [0, 0x0000],
  ];
  it.each(halves)("float %d → half %i", (value, bits) => {
    expect(floatToHalf(value)).toBe(bits);
  });
  it("decodes exactly representable halves to their value", () => {
    for (const [value, bits] of halves.filter(([value]) => value !== 0.1 && value !== 1e6)) {
      expect(halfToFloat(bits)).toBe(value);
    }
  });
  it("rounds half-way cases to even", () => {
    // 1 + 2^-11 is exactly between 0x3c00 and 0x3c01: ties go to the even mantissa 0x3c00.
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(halfToFloat(0x2e66)).toBeCloseTo(0.0999755859375, 12);
  });
  it("converts bfloat16 with round-to-nearest-even", () => {
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(floatToBfloat16(-2)).toBe(0xc000);
    expect(floatToBfloat16(3)).toBe(0x4040);
    // 0.1f = 0x3dcccccd: the dropped half 0xcccd is above 0x8000, so it rounds up.
    expect(floatToBfloat16(0.1)).toBe(0x3dcd);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });
});

describe("safetensors round trip", () => {
  it("writes F32/F16/BF16/I32 with the documented layout and reads the same values back", async () => {
    const file = path.join(dir, "roundtrip.safetensors");
    await writeSafetensors(
      file,
      [
        ["a.f32", { dtype: "F32", shape: [2, 2], data: new Float32Array([1.5, -2, 3.25, 1e-8]) }],
        ["b.f16", { dtype: "F16", shape: [3], data: new Float32Array([1, -2, 0.1]) }],
        ["c.bf16", { dtype: "BF16", shape: [1, 3], data: new Float32Array([1, 3, 0.1]) }],
        ["d.i32", { dtype: "I32", shape: [2], data: async () => new Int32Array([7, -9]) }],
      ],
      { format: "pt" },
    );
    const bytes = await readFile(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString());
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header["b.f16"]).toEqual({ dtype: "F16", shape: [3], data_offsets: [16, 22] });
    const dataStart = 8 + headerLength;
    expect(bytes.readUInt16LE(dataStart + 16)).toBe(0x3c00);
    expect(bytes.readUInt16LE(dataStart + 18)).toBe(0xc000);
    expect(bytes.readUInt16LE(dataStart + 20)).toBe(0x2e66);
    expect(bytes.readUInt16LE(dataStart + 22)).toBe(0x3f80);
    expect(bytes.readUInt16LE(dataStart + 24)).toBe(0x4040);
    expect(bytes.readUInt16LE(dataStart + 26)).toBe(0x3dcd);

    const tensors = await readSafetensors(file);
    expect([...tensors.keys()]).toEqual(["a.f32", "b.f16", "c.bf16", "d.i32"]);
    expect(Array.from(tensors.get("a.f32")!.data)).toEqual([1.5, -2, 3.25, Math.fround(1e-8)]);
    expect(tensors.get("b.f16")!.dtype).toBe("float32");
    expect(Array.from(tensors.get("b.f16")!.data)).toEqual([1, -2, 0.0999755859375]);
    expect(Array.from(tensors.get("c.bf16")!.data)).toEqual([1, 3, bf16Value(0x3dcd)]);
    expect(tensors.get("c.bf16")!.shape).toEqual([1, 3]);
    expect(tensors.get("d.i32")).toEqual({ dtype: "int32", shape: [2], data: new Int32Array([7, -9]) });
  });
});

function bf16Value(bits: number): number {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(bits << 16);
  return buffer.readFloatLE(0);
}

describe("positional reader", () => {
  it("reads tensors stored out of header order, after an unpadded header and a gap", async () => {
    // Header length 8k+3 (no padding), data laid out as [gap 5 bytes][second][first]: offsets odd, order reversed.
    const second = Buffer.alloc(8);
    second.writeFloatLE(42, 0);
    second.writeFloatLE(-0.5, 4);
    const first = Buffer.alloc(6);
    [0x3c00, 0x4000, 0xbc00].forEach((bits, i) => first.writeUInt16LE(bits, i * 2));
    const data = Buffer.concat([Buffer.alloc(5, 0xff), second, first]);
    const header: Record<string, unknown> = {
      first: { dtype: "F16", shape: [3], data_offsets: [13, 19] },
      second: { dtype: "F32", shape: [2, 1], data_offsets: [5, 13] },
    };
    let pad = 0;
    while ((JSON.stringify(header).length + pad) % 8 !== 3) pad++;
    const file = path.join(dir, "unusual.safetensors");
    await writeFile(file, handMade(header, data, pad));

    const reader = await SafetensorsReader.open(file);
    try {
      expect(reader.names).toEqual(["first", "second"]);
      expect(Array.from((await reader.read("second")).data)).toEqual([42, -0.5]);
      expect(Array.from((await reader.read("first")).data)).toEqual([1, 2, -1]);
      await expect(reader.read("third")).rejects.toThrow(/unusual\.safetensors: no tensor named "third"/);
    } finally {
      await reader.close();
    }
  });
});

describe("files over 2 GiB", () => {
  it("reads a tensor stored beyond the 2 GiB mark by a positional read (sparse file, nothing large in memory)", async () => {
    const gapBytes = 2_300_000_000;
    const header = {
      gap: { dtype: "U8", shape: [gapBytes], data_offsets: [0, gapBytes] },
      "late.weight": { dtype: "F32", shape: [2, 2], data_offsets: [gapBytes, gapBytes + 16] },
    };
    const prefix = handMade(header, Buffer.alloc(0));
    const late = Buffer.alloc(16);
    [1.5, -2.25, 3, 1e-3].forEach((value, i) => late.writeFloatLE(value, i * 4));
    const file = path.join(dir, "large.safetensors");
    const handle = await open(file, "w");
    try {
      await handle.write(prefix, 0, prefix.length, 0);
      // Writing only the last tensor leaves the 2.3 GB gap as a hole: the file is sparse on disk.
      await handle.write(late, 0, late.length, prefix.length + gapBytes);
    } finally {
      await handle.close();
    }
    const reader = await SafetensorsReader.open(file);
    try {
      expect(reader.tensors.get("late.weight")!.byteOffset).toBeGreaterThan(2 ** 31);
      expect(Array.from((await reader.read("late.weight")).data)).toEqual([1.5, -2.25, 3, Math.fround(1e-3)]);
    } finally {
      await reader.close();
      await rm(file);
    }
  });
});

describe("corrupt files", () => {
  const write = async (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return file;
  };

  it("rejects a header length beyond the file", async () => {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(1n << 40n);
    const file = await write("huge-header.safetensors", bytes);
    await expect(SafetensorsReader.open(file)).rejects.toThrow(/huge-header\.safetensors: header length .* exceeds the file/);
  });

  it("rejects a header that is not JSON", async () => {
    const json = Buffer.from("{not json");
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const file = await write("bad-json.safetensors", Buffer.concat([prefix, json]));
    await expect(SafetensorsReader.open(file)).rejects.toThrow(/bad-json\.safetensors: header is not valid JSON/);
  });

  it("names the tensor a truncated file cuts off", async () => {
    const full = handMade(
      {
        kept: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
        "down_blocks.0.conv.weight": { dtype: "F32", shape: [4], data_offsets: [4, 20] },
      },
      Buffer.alloc(20),
    );
    const file = await write("truncated.safetensors", full.subarray(0, full.length - 6));
    await expect(SafetensorsReader.open(file)).rejects.toThrow(
      /truncated\.safetensors: tensor "down_blocks\.0\.conv\.weight" ends at data byte 20 but the file holds only 14/,
    );
  });

  it("names a tensor whose byte span disagrees with its shape", async () => {
    const file = await write(
      "span.safetensors",
      handMade({ "conv_in.bias": { dtype: "BF16", shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)),
    );
    await expect(SafetensorsReader.open(file)).rejects.toThrow(/span\.safetensors: tensor "conv_in\.bias" spans 8 bytes but BF16\[3\] needs 6/);
  });

  it("names a tensor with an unknown dtype", async () => {
    const file = await write(
      "dtype.safetensors",
      handMade({ weird: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)),
    );
    await expect(SafetensorsReader.open(file)).rejects.toThrow(/dtype\.safetensors: tensor "weird" has a malformed header entry/);
  });
});
