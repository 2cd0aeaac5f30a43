import { describe, expect, it } from "vitest";
import { lossChartGeometry } from "../../../webapp/public/js/loss-chart.js";

const box = { width: 600, height: 180, padding: 24 };

describe("loss chart geometry", () => {
  it("draws nothing before the first step", () => {
    expect(lossChartGeometry([], 100, box)).toEqual({ path: "", minLoss: null, maxLoss: null });
  });

  it("scales steps against the total and losses between their min and max, in step order", () => {
    const { path, minLoss, maxLoss } = lossChartGeometry(
      [
        { step: 50, loss: 0.1 },
        { step: 25, loss: 0.2 },
      ],
      100,
      box,
    );
    expect([minLoss, maxLoss]).toEqual([0.1, 0.2]);
    // step 25 → x = 24 + 0.25·552; the highest loss at the top (y = 24), the lowest at the bottom (y = 156).
    expect(path).toBe("M162.0,24.0L300.0,156.0");
  });

  it("keeps the last loss of a repeated step (a reconnect replays the current one)", () => {
    const { path } = lossChartGeometry(
      [
        { step: 10, loss: 1 },
        { step: 10, loss: 0.5 },
        { step: 20, loss: 1 },
      ],
      20,
      box,
    );
    expect(path).toBe("M300.0,156.0L576.0,24.0");
  });

  it("draws a flat line for a constant loss instead of dividing by zero", () => {
    const { path } = lossChartGeometry([{ step: 1, loss: 0.3 }, { step: 2, loss: 0.3 }], 2, box);
    expect(path).not.toMatch(/NaN|Infinity/);
  });
});
