import { describe, expect, it } from "vitest";
import { gateVerdicts } from "./gates.js";

describe("pretraining gates", () => {
  const passing = { roundTripPsnr: 24.5, baselineRoundTripPsnr: 20, twemojiClassAfterRoundTrip: 0.6, heldOutPairClass: 0.7, classPhotoRecognised: 0.5 };

  it("pass at their thresholds: PSNR gain ≥ 4 dB, Twemoji class ≥ 60 %, held-out pairs ≥ 60 %, class photos ≥ 50 %", () => {
    const verdicts = gateVerdicts(passing);
    expect(verdicts.map((verdict) => verdict.pass)).toEqual([true, true, true, true]);
    expect(verdicts[0].value).toBeCloseTo(4.5, 12);
  });

  it("fail each one alone just below its threshold", () => {
    const below = [{ roundTripPsnr: 23.9 }, { twemojiClassAfterRoundTrip: 0.59 }, { heldOutPairClass: 0.59 }, { classPhotoRecognised: 0.49 }];
    below.forEach((change, i) => {
      const verdicts = gateVerdicts({ ...passing, ...change });
      expect(verdicts.map((verdict) => verdict.pass)).toEqual([0, 1, 2, 3].map((k) => k !== i));
    });
  });
});
