import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { backendCandidates, initTensorBackend } from "./backend.js";

describe("backendCandidates", () => {
  it("tries tensorflow, then wasm, then cpu when TFJS_BACKEND is unset or empty", () => {
    expect(backendCandidates(undefined)).toEqual(["tensorflow", "wasm", "cpu"]);
    expect(backendCandidates(" ")).toEqual(["tensorflow", "wasm", "cpu"]);
  });

  it("uses only the backend TFJS_BACKEND names", () => {
    expect(backendCandidates("WASM")).toEqual(["wasm"]);
    expect(backendCandidates("cpu")).toEqual(["cpu"]);
  });

  it("rejects an unknown name instead of guessing", () => {
    expect(() => backendCandidates("webgpu")).toThrow(/TFJS_BACKEND=webgpu/);
  });
});

describe("initTensorBackend", () => {
  it("falls through to wasm where tfjs-node-gpu is not installed, logs the choice once, and can train", async () => {
    const lines: string[] = [];
    const name = await initTensorBackend({ requested: "", log: (line) => lines.push(line) });
    expect(name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(await initTensorBackend({ log: (line) => lines.push(line) })).toBe("wasm");
    expect(lines).toEqual(["tfjs backend: wasm"]);
    const filterGradient = tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, w as tf.Tensor4D, 1, "same")));
    expect(filterGradient(tf.ones([3, 3, 2, 1])).shape).toEqual([3, 3, 2, 1]);
  });
});
