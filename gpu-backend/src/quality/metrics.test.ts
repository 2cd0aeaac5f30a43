import { describe, expect, it } from "vitest";
import { accuracy, argmaxRows, cosine, meanAndSpread, meanCrossCosine, meanOffDiagonalCosine, meanPairwiseDistance, normalisedFidelity } from "./metrics.js";

describe("benchmark metrics", () => {
  it("cosine: parallel 1, orthogonal 0, opposite −1, 45° √½, zero vector 0", () => {
    expect(cosine([2, 0], [5, 0])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 3])).toBeCloseTo(0, 12);
    expect(cosine([1, 2], [-1, -2])).toBeCloseTo(-1, 12);
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(/lengths/);
  });

  it("subject fidelity averages every generated × real pair", () => {
    // pairs: (e1,e1)=1, (e1,e2)=0, (e1+e2 normalised, e1)=√½, (…, e2)=√½ → (1 + 0 + 2·√½)/4
    expect(meanCrossCosine([[1, 0], [1, 1]], [[1, 0], [0, 1]])).toBeCloseTo((1 + Math.SQRT2) / 4, 12);
  });

  it("a set's self-similarity leaves out each member's pair with itself", () => {
    // ordered pairs (a,b)=0, (b,a)=0, (a,c)=√½ twice, (b,c)=√½ twice → 4·√½ / 6
    expect(meanOffDiagonalCosine([[1, 0], [0, 1], [1, 1]])).toBeCloseTo((4 * Math.SQRT1_2) / 6, 12);
    expect(() => meanOffDiagonalCosine([[1, 0]])).toThrow();
  });

  it("normalised fidelity is 0 at the class prior, 1 at the ceiling, linear between and beyond", () => {
    const bounds = { prior: 0.4, ceiling: 0.9 };
    expect(normalisedFidelity(0.4, bounds)).toBeCloseTo(0, 12);
    expect(normalisedFidelity(0.9, bounds)).toBeCloseTo(1, 12);
    expect(normalisedFidelity(0.65, bounds)).toBeCloseTo(0.5, 12);
    expect(normalisedFidelity(0.3, bounds)).toBeCloseTo(-0.2, 12);
    expect(() => normalisedFidelity(0.5, { prior: 0.6, ceiling: 0.6 })).toThrow(/no range/);
  });

  it("diversity is the mean 1 − cos over unordered pairs", () => {
    expect(meanPairwiseDistance([[1, 0], [1, 0], [1, 0]])).toBe(0);
    // pairs: (a,b) 1−0=1, (a,c) 1−√½, (b,c) 1−√½
    expect(meanPairwiseDistance([[1, 0], [0, 1], [1, 1]])).toBeCloseTo((3 - Math.SQRT2) / 3, 12);
    expect(() => meanPairwiseDistance([[1, 0]])).toThrow();
  });

  it("accuracy, argmax and mean ± sample standard deviation", () => {
    expect(accuracy([1, 2, 3, 4], [1, 0, 3, 0])).toBe(0.5);
    expect(argmaxRows([0.1, 0.7, 0.2, 5, -1, 4], 3)).toEqual([1, 0]);
    expect(meanAndSpread([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: Math.sqrt(32 / 7), n: 8 });
    expect(meanAndSpread([3])).toEqual({ mean: 3, std: 0, n: 1 });
  });
});
