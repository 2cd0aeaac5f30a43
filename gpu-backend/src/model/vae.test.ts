import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { VaeConfigSchema } from "./config.js";
import { fixtureTensor, nchwToNhwc, nhwcToNchw, parityDir, readFixture, relativeL2, describeOnParityBackends, useBackend } from "./parity-fixtures.js";
import { tinyVaeConfig } from "./tiny.js";
import { AutoencoderKL } from "./vae.js";
import { loadPretrained } from "./weights.js";

beforeAll(async () => {
  await useBackend("wasm");
});

describeOnParityBackends("AutoencoderKL parity with diffusers", (backend) => {
  it("matches latent mean/logvar/std, decode(latent) and decode(mean) within 1e-4 relative L2", async () => {
    const dir = parityDir("vae_tiny_g8");
    const vae = await loadPretrained(dir, VaeConfigSchema, (config, init) => new AutoencoderKL(config, init));
    const inputs = await readFixture(dir, "inputs.safetensors");
    const outputs = await readFixture(dir, "outputs.safetensors");
    const image = nchwToNhwc(fixtureTensor(inputs, "image")) as tf.Tensor4D;
    const latent = nchwToNhwc(fixtureTensor(inputs, "latent")) as tf.Tensor4D;
    const distribution = vae.encode(image);
    const ours: Record<string, tf.Tensor> = {
      latent_mean: distribution.mean,
      latent_logvar: distribution.logvar,
      latent_std: distribution.std,
      decoded: vae.decode(latent),
      reconstruction_from_mean: vae.decode(distribution.mean),
    };
    const errors: Record<string, number> = {};
    for (const [name, tensor] of Object.entries(ours)) {
      const nchw = nhwcToNchw(tensor);
      errors[name] = relativeL2(await nchw.data(), outputs.get(name)!.data);
      nchw.dispose();
    }
    console.log(`${backend} VAE parity (relative L2):`, errors);
    for (const error of Object.values(errors)) expect(error).toBeLessThan(1e-4);
    expect(vae.scalingFactor).toBe(0.18215);
    tf.dispose([image, latent, ...Object.values(ours)]);
    vae.params.dispose();
  });
});

describe("AutoencoderKL", () => {
  it("encodes [B,H,W,3] to [B,H/2,W/2,4] moments and decodes back to image shape", () => {
    const vae = new AutoencoderKL(tinyVaeConfig, { kind: "random", seed: 1 });
    const image = tf.randomUniform([2, 8, 8, 3], -1, 1, "float32", 5) as tf.Tensor4D;
    const { mean, logvar, std } = vae.encode(image);
    expect(mean.shape).toEqual([2, 4, 4, 4]);
    expect(logvar.shape).toEqual([2, 4, 4, 4]);
    const decoded = vae.decode(mean);
    expect(decoded.shape).toEqual([2, 8, 8, 3]);
    expect(decoded.dtype).toBe("float32");
    // std = exp(logvar / 2) with logvar clamped to [-30, 20].
    const logvars = logvar.dataSync();
    const stds = std.dataSync();
    for (let i = 0; i < logvars.length; i++) {
      expect(logvars[i]).toBeGreaterThanOrEqual(-30);
      expect(logvars[i]).toBeLessThanOrEqual(20);
      expect(stds[i]).toBeCloseTo(Math.exp(logvars[i] / 2), 5);
    }
    tf.dispose([image, mean, logvar, std, decoded]);
    vae.params.dispose();
  });

  it("keeps the tensor count stable across repeated encode/decode", () => {
    const vae = new AutoencoderKL(tinyVaeConfig, { kind: "random", seed: 2 });
    const image = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    const run = () => {
      const { mean, logvar, std } = vae.encode(image);
      const decoded = vae.decode(mean);
      tf.dispose([mean, logvar, std, decoded]);
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    image.dispose();
    vae.params.dispose();
  });
});
