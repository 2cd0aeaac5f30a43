import { describe, expect, it } from "vitest";
import { PRICES } from "../../../functions/billing/pricing.js";
import { trainingEstimate } from "../../../webapp/public/js/estimate.js";
import { phaseProgress } from "../../../webapp/public/js/phase-progress.js";

const timing = { fixed_s: 10, per_step_s: 1, per_class_image_s: 2 };

describe("before and while a training runs", () => {
  it("quotes the price the account is charged and the time the device takes", () => {
    expect(trainingEstimate({ steps: 20, method: "lora", classImages: 4 }, { prices: PRICES, timing, free: false })).toEqual({ price: 220, seconds: 38 });
    expect(trainingEstimate({ steps: 20, method: "full", classImages: 0 }, { prices: PRICES, timing, free: false })).toEqual({ price: 1080, seconds: 30 });
    expect(trainingEstimate({ steps: 20, method: "lora", classImages: 4 }, { prices: PRICES, timing: null, free: true })).toEqual({ price: 0, seconds: null });
  });

  it("counts class images while preparing, steps while training and the export's stages", () => {
    const at = (status: string, phase: string | null, step: number, total: number) =>
      phaseProgress({ status, progress: { phase, step, total_steps: total }, params: { steps: 20 } }).label;
    expect(at("queued", null, 0, 0)).toBe("step 0 / 20");
    expect(at("preparing", "preparing", 0, 0)).toBe("loading the base model");
    expect(at("preparing", "preparing", 3, 4)).toBe("class images 3 / 4");
    expect(at("training", "training", 7, 20)).toBe("step 7 / 20");
    expect(at("exporting", "exporting", 1, 2)).toBe("export 1 / 2");
    expect(at("succeeded", "exporting", 2, 2)).toBe("step 20 / 20");
  });
});
