import { describe, expect, it } from "vitest";
import { canTransition, JOB_STATUSES, statusesOf, TERMINAL_STATUSES } from "./states.js";

describe("job state machine", () => {
  it("walks a training forward, allowing skipped states but never backwards", () => {
    expect(canTransition("train", "queued", "dispatched")).toBe(true);
    expect(canTransition("train", "dispatched", "training")).toBe(true);
    expect(canTransition("train", "exporting", "succeeded")).toBe(true);
    expect(canTransition("train", "training", "preparing")).toBe(false);
    expect(canTransition("train", "training", "training")).toBe(false);
    expect(canTransition("train", "training", "generating")).toBe(false);
    expect(canTransition("generate", "preparing", "generating")).toBe(true);
    expect(canTransition("generate", "preparing", "training")).toBe(false);
  });

  it("never leaves a terminal state", () => {
    for (const from of TERMINAL_STATUSES) {
      for (const to of JOB_STATUSES) {
        expect(canTransition("train", from, to)).toBe(false);
        expect(canTransition("train", from, to, true)).toBe(false);
      }
    }
  });

  it("lets any live state fail or be canceled, and re-dispatch only to dispatched", () => {
    for (const from of statusesOf("train").filter((s) => !TERMINAL_STATUSES.has(s))) {
      expect(canTransition("train", from, "failed")).toBe(true);
      expect(canTransition("train", from, "canceled")).toBe(true);
      expect(canTransition("train", from, "dispatched", true)).toBe(true);
      expect(canTransition("train", from, "queued", true)).toBe(false);
    }
  });
});
