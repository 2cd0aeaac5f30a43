import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { tensorValues } from "./js-kernel.js";

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
});
afterAll(async () => {
  await tf.setBackend("wasm");
});

describe.each(["wasm", "cpu"])("tensorValues on %s", (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it("reads a float32 tensor where the backend keeps it, without a copy", () => {
    const x = tf.tensor1d([1.5, -2, 3]);
    const values = tensorValues(x);
    expect(Array.from(values)).toEqual([1.5, -2, 3]);
    // The same memory, not a copy: a second read sees the same buffer and offset.
    const again = tensorValues(x);
    expect(again.buffer).toBe(values.buffer);
    expect(again.byteOffset).toBe(values.byteOffset);
    x.dispose();
  });

  it("gives other dtypes as float32 copies", () => {
    const ids = tf.tensor1d([4, 5], "int32");
    const values = tensorValues(ids);
    expect(values).toBeInstanceOf(Float32Array);
    expect(Array.from(values)).toEqual([4, 5]);
    ids.dispose();
  });
});
