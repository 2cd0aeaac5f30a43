import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ClipTextModel } from "./clip-text.js";
import { ClipTextConfigSchema } from "./config.js";
import { fixtureTensor, parityDir, readFixture, relativeL2, describeOnParityBackends, useBackend } from "./parity-fixtures.js";
import { setTrainable } from "./params.js";
import { tinyClipTextConfig } from "./tiny.js";
import { loadPretrained } from "./weights.js";

beforeAll(async () => {
  await useBackend("wasm");
});

describeOnParityBackends("CLIPTextModel parity with transformers", (backend) => {
  it("matches last/penultimate hidden states and pooler output within 1e-4 relative L2", async () => {
    const dir = parityDir("clip_text_tiny");
    const model = await loadPretrained(dir, ClipTextConfigSchema, (config, init) => new ClipTextModel(config, init));
    const inputs = await readFixture(dir, "inputs.safetensors");
    const outputs = await readFixture(dir, "outputs.safetensors");
    const errors: Record<string, number> = {};
    for (const [ids, suffix] of [["input_ids", ""], ["input_ids_77", "_77"]] as const) {
      const inputIds = fixtureTensor(inputs, ids) as tf.Tensor2D;
      const result = model.forward(inputIds);
      errors[`last_hidden_state${suffix}`] = relativeL2(await result.lastHiddenState.data(), outputs.get(`last_hidden_state${suffix}`)!.data);
      errors[`pooler_output${suffix}`] = relativeL2(await result.poolerOutput.data(), outputs.get(`pooler_output${suffix}`)!.data);
      if (suffix === "") {
        errors.penultimate_hidden_state = relativeL2(await result.penultimateHiddenState.data(), outputs.get("penultimate_hidden_state")!.data);
      }
      tf.dispose([inputIds, result.lastHiddenState, result.poolerOutput, result.penultimateHiddenState]);
    }
    console.log(`${backend} CLIP parity (relative L2):`, errors);
    for (const error of Object.values(errors)) expect(error).toBeLessThan(1e-4);
    model.params.dispose();
  });
});

describe("CLIPTextModel", () => {
  it("returns [B,N,H] states and [B,H] pooled output in float32", () => {
    const model = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 1 });
    const ids = tf.tensor2d([[998, 5, 999, 999], [998, 999, 7, 999]], [2, 4], "int32");
    const out = model.forward(ids);
    expect(out.lastHiddenState.shape).toEqual([2, 4, 32]);
    expect(out.penultimateHiddenState.shape).toEqual([2, 4, 32]);
    expect(out.poolerOutput.shape).toEqual([2, 32]);
    expect(out.lastHiddenState.dtype).toBe("float32");
    // The pooled vector is the final state at the first end-of-text token (eos_token_id 999 here).
    const pooled = out.poolerOutput.arraySync();
    const last = out.lastHiddenState.arraySync();
    expect(pooled[0]).toEqual(last[0][2]);
    expect(pooled[1]).toEqual(last[1][1]);
    tf.dispose([ids, out.lastHiddenState, out.penultimateHiddenState, out.poolerOutput]);
    model.params.dispose();
  });

  it("is causal: a token's state does not depend on later tokens", () => {
    const model = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 2 });
    const a = tf.tensor2d([[7, 8, 9, 10, 11]], [1, 5], "int32");
    const b = tf.tensor2d([[7, 8, 9, 30, 31]], [1, 5], "int32");
    const outA = model.forward(a);
    const outB = model.forward(b);
    const statesA = outA.lastHiddenState.arraySync()[0];
    const statesB = outB.lastHiddenState.arraySync()[0];
    expect(statesA.slice(0, 3)).toEqual(statesB.slice(0, 3));
    expect(statesA[3]).not.toEqual(statesB[3]);
    tf.dispose([a, b, outA, outB] as unknown as tf.Tensor[]);
    model.params.dispose();
  });

  it("keeps the tensor count stable across repeated forward passes", () => {
    const model = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 3 });
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
    const run = () => {
      const out = model.forward(ids);
      tf.dispose([out.lastHiddenState, out.penultimateHiddenState, out.poolerOutput]);
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    ids.dispose();
    model.params.dispose();
  });
});

describe("CLIPTextModel gradients", () => {
  it("agree between wasm and cpu within 1e-4 (text-encoder fine-tuning path, embedding gather included)", async () => {
    const model = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 9 });
    setTrainable(model.params, true);
    const ids = tf.tensor2d([[998, 5, 17, 999, 999], [998, 40, 999, 999, 999]], [2, 5], "int32");
    const gradients = async (backend: "cpu" | "wasm") => {
      await useBackend(backend);
      // A random linear read-out: mean(square(·)) of a layer-normed output would be nearly constant, its gradient noise.
      const readOut = tf.randomNormal([2, 5, 32], 0, 1, "float32", 31);
      const { grads } = tf.variableGrads(() => {
        const out = model.forward(ids);
        return tf.add(tf.sum(tf.mul(out.lastHiddenState, readOut)), tf.sum(out.poolerOutput)) as tf.Scalar;
      }, model.params.variables);
      readOut.dispose();
      const result = new Map<string, Float32Array>();
      for (const [name, { variable }] of model.params.params) result.set(name, (await grads[variable.name].data()) as Float32Array);
      tf.dispose(Object.values(grads));
      return result;
    };
    const reference = await gradients("cpu");
    const wasm = await gradients("wasm");
    for (const [name, gradient] of reference) {
      // A key bias shifts every score of a query equally, which softmax ignores: its true gradient is 0 and both are rounding noise.
      if (name.endsWith("k_proj.bias")) {
        expect(Math.max(...gradient.map(Math.abs), ...wasm.get(name)!.map(Math.abs)), name).toBeLessThan(1e-5);
        continue;
      }
      expect(relativeL2(wasm.get(name)!, gradient), name).toBeLessThan(1e-4);
    }
    ids.dispose();
    model.params.dispose();
  });
});
