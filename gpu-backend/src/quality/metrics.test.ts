import { describe, expect, it } from "vitest";
import { accuracy, argmaxRows, cosine, meanAndSpread, meanCrossCosine, meanPairwiseDistance } from "./metrics.js";

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
