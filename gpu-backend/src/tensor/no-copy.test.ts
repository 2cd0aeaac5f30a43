import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "./backend.js";
import { setSpeedSwitches } from "./speed-switches.js";

beforeAll(async () => {
  await initTensorBackend({ requested: "wasm", log: () => {} });
  await tf.setBackend("wasm");
});
afterAll(() => setSpeedSwitches({ noCopy: true }));

/** Buffers the wasm backend holds, which a copy adds to and a shared output does not. */
const buffers = () => tf.engine().backend.numDataIds();

describe.each([true, false])("wasm Identity and same-dtype Cast, noCopy %s", (noCopy) => {
  beforeAll(() => setSpeedSwitches({ noCopy }));

  it("give the input's values, which outlive the input", () => {
    const x = tf.tensor1d([1.5, -2, 3]);
    const before = buffers();
    const clone = tf.clone(x);
    const cast = tf.cast(x, "float32");
    expect(buffers() - before).toBe(noCopy ? 0 : 2);
    x.dispose();
    expect(Array.from(clone.dataSync())).toEqual([1.5, -2, 3]);
    expect(Array.from(cast.dataSync())).toEqual([1.5, -2, 3]);
    clone.dispose();
    expect(Array.from(cast.dataSync())).toEqual([1.5, -2, 3]);
    cast.dispose();
  });

  it("still convert when the dtype changes", () => {
    const x = tf.tensor1d([1.7, -2.2]);
    const int = tf.cast(x, "int32");
    expect(int.dtype).toBe("int32");
    expect(Array.from(int.dataSync())).toEqual([1, -2]);
    tf.dispose([x, int]);
  });

  it("leave a variable's old value intact when the variable is assigned", () => {
    const variable = tf.variable(tf.tensor1d([1, 2]));
    const snapshot = tf.clone(variable);
    variable.assign(tf.tensor1d([5, 6]));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2]);
    tf.dispose([variable, snapshot]);
  });
});
