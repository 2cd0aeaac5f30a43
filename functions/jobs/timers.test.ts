import { describe, expect, it } from "vitest";
import { dueTimers, nextAlarmAt } from "./timers.js";

describe("timers multiplexed on one alarm", () => {
  it("rings the alarm at the earliest timer", () => {
    expect(nextAlarmAt({})).toBeNull();
    expect(nextAlarmAt({ heartbeat: 900, poll: 300, dispatch: 500 })).toBe(300);
  });

  it("runs only the timers that are due, earliest first", () => {
    const timers = { heartbeat: 900, poll: 300, dispatch: 200 };
    expect(dueTimers(timers, 100)).toEqual([]);
    expect(dueTimers(timers, 300)).toEqual(["dispatch", "poll"]);
    expect(dueTimers(timers, 1000)).toEqual(["dispatch", "poll", "heartbeat"]);
  });
});
