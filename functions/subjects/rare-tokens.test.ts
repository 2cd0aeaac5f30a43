import { expect, it } from "vitest";
import { defaultIdentifier, RARE_TOKENS } from "./rare-tokens";

it("offers short, vowel-free, distinct tokens built around rare letters", () => {
  expect(new Set(RARE_TOKENS).size).toBe(RARE_TOKENS.length);
  for (const token of RARE_TOKENS) {
    expect(token).toMatch(/^[a-z]{3,4}$/);
    expect(token).not.toMatch(/[aeiouy]/);
    expect(token).toMatch(/[jqxz]/);
  }
  expect(RARE_TOKENS).not.toContain("sks");
});

it("picks across the whole list", () => {
  expect(defaultIdentifier(() => 0)).toBe(RARE_TOKENS[0]);
  expect(defaultIdentifier(() => 0.999999)).toBe(RARE_TOKENS.at(-1));
});
