import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { UNetConfigSchema } from "./config.js";
import { fixtureTensor, nchwToNhwc, nhwcToNchw, parityDir, readFixture, relativeL2, describeOnParityBackends, useBackend } from "./parity-fixtures.js";
import { tinyUNetConfig } from "./tiny.js";
import { setTrainable } from "./params.js";
import { timestepEmbedding, UNet2DConditionModel } from "./unet.js";
import { loadPretrained } from "./weights.js";

beforeAll(async () => {
  await useBackend("wasm");
});

describeOnParityBackends("UNet2DConditionModel parity with diffusers", (backend) => {
  it("matches the predicted sample within 1e-4 relative L2 (SD1.5 block layout)", async () => {
    const dir = parityDir("unet_sd15_4lvl");
    const unet = await loadPretrained(dir, UNetConfigSchema, (config, init) => new UNet2DConditionModel(config, init));
    const inputs = await readFixture(dir, "inputs.safetensors");
    const outputs = await readFixture(dir, "outputs.safetensors");
    const sample = nchwToNhwc(fixtureTensor(inputs, "sample")) as tf.Tensor4D;
    const timestep = fixtureTensor(inputs, "timestep") as tf.Tensor1D;
    const context = fixtureTensor(inputs, "encoder_hidden_states") as tf.Tensor3D;
    const predicted = unet.forward(sample, timestep, context);
    const nchw = nhwcToNchw(predicted);
    const error = relativeL2(await nchw.data(), outputs.get("sample")!.data);
    console.log(`${backend} UNet parity (relative L2): sample`, error);
    expect(error).toBeLessThan(1e-4);
    tf.dispose([sample, timestep, context, predicted, nchw]);
    unet.params.dispose();
  });

  it("matches the reference time embedding features", async () => {
    const dir = parityDir("unet_sd15_4lvl");
    const inputs = await readFixture(dir, "inputs.safetensors");
    const intermediates = await readFixture(dir, "intermediates.safetensors");
    const timestep = fixtureTensor(inputs, "timestep") as tf.Tensor1D;
    const features = timestepEmbedding(timestep, 32, true, 0);
    expect(relativeL2(await features.data(), intermediates.get("time_proj")!.data)).toBeLessThan(1e-5);
    tf.dispose([timestep, features]);
  });
});

describe("UNet2DConditionModel", () => {
  it("maps [B,H,W,4] latents, [B] timesteps and [B,M,D] context to [B,H,W,4]", () => {
    const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 });
    const sample = tf.randomNormal([2, 8, 8, 4], 0, 1, "float32", 3) as tf.Tensor4D;
    const context = tf.randomNormal([2, 5, 32], 0, 1, "float32", 4) as tf.Tensor3D;
    const out = unet.forward(sample, tf.tensor1d([10, 900]), context);
    expect(out.shape).toEqual([2, 8, 8, 4]);
    expect(out.dtype).toBe("float32");
    // A scalar timestep is broadcast over the batch.
    const broadcast = unet.forward(sample, tf.tensor1d([10]), context);
    const same = unet.forward(sample, tf.tensor1d([10, 10]), context);
    expect(relativeL2(broadcast.dataSync(), same.dataSync())).toBe(0);
    tf.dispose([sample, context, out, broadcast, same]);
    unet.params.dispose();
  });

  it("keeps the tensor count stable across repeated forward passes", () => {
    const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 2 });
    const sample = tf.zeros([1, 8, 8, 4]) as tf.Tensor4D;
    const timesteps = tf.tensor1d([500]);
    const context = tf.zeros([1, 3, 32]) as tf.Tensor3D;
    unet.forward(sample, timesteps, context).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) unet.forward(sample, timesteps, context).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([sample, timesteps, context]);
    unet.params.dispose();
  });
});

describe("UNet2DConditionModel gradients", () => {
  it("agree between wasm (training backend, rewritten conv gradients) and cpu (reference) within 1e-4", async () => {
    // Narrower than tiny so the cpu backend's slow convolution gradients keep this test short.
    const config = UNetConfigSchema.parse({ ...tinyUNetConfig, block_out_channels: [8, 16], norm_num_groups: 4, attention_head_dim: 2 });
    const unet = new UNet2DConditionModel(config, { kind: "random", seed: 8 });
    const lossGradients = async (backend: "cpu" | "wasm") => {
      await useBackend(backend);
      const sample = tf.randomNormal([2, 4, 4, 4], 0, 1, "float32", 21) as tf.Tensor4D;
      const context = tf.randomNormal([2, 5, 32], 0, 1, "float32", 22) as tf.Tensor3D;
      const timesteps = tf.tensor1d([999, 20]);
      const target = tf.randomNormal([2, 4, 4, 4], 0, 1, "float32", 23);
      const variables = unet.params.variables;
      const { grads } = tf.variableGrads(() => tf.losses.meanSquaredError(target, unet.forward(sample, timesteps, context)) as tf.Scalar, variables);
      const result = new Map<string, Float32Array>();
      for (const [name, { variable }] of unet.params.params) result.set(name, (await grads[variable.name].data()) as Float32Array);
      tf.dispose([sample, context, timesteps, target, ...Object.values(grads)]);
      return result;
    };
    setTrainable(unet.params, true);
    const reference = await lossGradients("cpu");
    const wasm = await lossGradients("wasm");
    let worst = { name: "", error: 0 };
    for (const [name, gradient] of reference) {
      const error = relativeL2(wasm.get(name)!, gradient);
      if (error > worst.error) worst = { name, error };
    }
    console.log("UNet gradients wasm vs cpu, worst relative L2:", worst);
    expect(worst.error).toBeLessThan(1e-4);
    unet.params.dispose();
  });
});
