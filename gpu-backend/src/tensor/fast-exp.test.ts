import { expect, it } from "vitest";
import { fastExp } from "./fast-exp.js";

it("is eˣ within 2·10⁻⁷ relative over float32's range, and clamps beyond it", () => {
  let worst = 0;
  for (let i = 0; i <= 200_000; i++) {
    const x = -87 + (175 * i) / 200_000;
    worst = Math.max(worst, Math.abs(fastExp(x) / Math.exp(x) - 1));
  }
  expect(worst).toBeLessThan(2e-7);
  expect(fastExp(0)).toBe(1);
  expect(fastExp(-1000)).toBe(fastExp(-87));
  expect(fastExp(1000)).toBe(fastExp(88));
  expect(1 / (1 + fastExp(1000))).toBeLessThan(1e-38);
});
