import { describe, expect, it } from "vitest";
import { eachWithLimit } from "../../../webapp/public/js/upload.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("uploading a set with limited concurrency", () => {
  it("never runs more than the limit at once and runs every item", async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachWithLimit([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
      done.push(item);
    });
    expect(most).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("starts nothing new after a failure, lets the running ones finish, and rejects with the first failure", async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const outcome = eachWithLimit([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started.push(item);
      await tick();
      if (item === 1) throw new Error("upload of 1 failed");
      await tick();
      finished.push(item);
    });
    await expect(outcome).rejects.toThrow("upload of 1 failed");
    expect(started).toEqual([1, 2]);
    expect(finished).toEqual([2]);
  });
});
