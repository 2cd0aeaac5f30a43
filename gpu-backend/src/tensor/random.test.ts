import { describe, expect, it } from "vitest";
import { Random } from "./random.js";

describe("Random", () => {
  it("matches the xoshiro128** reference sequence for a known state", () => {
    // State {1, 2, 3, 4}: the first outputs of the reference C implementation (prng.di.unimi.it).
    const random = new Random({ algorithm: "xoshiro128**", words: [1, 2, 3, 4] });
    expect([random.nextUint32(), random.nextUint32(), random.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it("gives the same stream for the same seed and different streams for different seeds", () => {
    expect(Array.from(new Random(42).normalArray(8))).toEqual(Array.from(new Random(42).normalArray(8)));
    expect(Array.from(new Random(42).normalArray(8))).not.toEqual(Array.from(new Random(43).normalArray(8)));
    expect(new Random(2 ** 32).nextUint32()).not.toBe(new Random(0).nextUint32());
  });

  it("resumes exactly from a saved state (what a checkpoint stores)", () => {
    const random = new Random(5);
    random.normalArray(11);
    const saved = JSON.parse(JSON.stringify(random.state()));
    const continued = Array.from(random.normalArray(6));
    expect(Array.from(new Random(saved).normalArray(6))).toEqual(continued);
  });

  it("draws normals with mean 0 and variance 1", () => {
    const values = new Random(1).normalArray(200_000);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.01);
    expect(values.every(Number.isFinite)).toBe(true);
  });

  it("draws integers in range without bias toward small values", () => {
    const random = new Random(3);
    const counts = new Array(1000).fill(0);
    for (let i = 0; i < 100_000; i++) counts[random.integer(1000)]++;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(150);
  });

  it("rejects an invalid seed or state", () => {
    expect(() => new Random(-1)).toThrow(/seed/);
    expect(() => new Random({ algorithm: "xoshiro128**", words: [1, 2, 3] })).toThrow();
  });
});
