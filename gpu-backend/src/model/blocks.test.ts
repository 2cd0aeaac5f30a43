import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Attention, Downsample2D, ResnetBlock2D, Upsample2D } from "./blocks.js";
import { useBackend } from "./parity-fixtures.js";
import { ParamStore, Scope } from "./params.js";

beforeAll(async () => {
  await useBackend("wasm");
});

const fresh = () => new Scope(new ParamStore({ kind: "random", seed: 4 }));

describe("ResnetBlock2D", () => {
  it("maps [B,H,W,in] to [B,H,W,out] with a 1×1 shortcut only when the width changes", () => {
    const scope = fresh();
    const widening = new ResnetBlock2D(scope.child("a"), 8, 16, { groups: 4, eps: 1e-5, tembChannels: 12 });
    const keeping = new ResnetBlock2D(scope.child("b"), 8, 8, { groups: 4, eps: 1e-6 });
    expect(scope.store.declared.has("a.conv_shortcut.weight")).toBe(true);
    expect(scope.store.declared.has("b.conv_shortcut.weight")).toBe(false);
    expect(scope.store.declared.has("b.time_emb_proj.weight")).toBe(false);
    const x = tf.randomNormal([2, 5, 6, 8], 0, 1, "float32", 1) as tf.Tensor4D;
    const temb = tf.randomNormal([2, 12], 0, 1, "float32", 2) as tf.Tensor2D;
    const widened = widening.forward(x, temb);
    const kept = keeping.forward(x);
    expect(widened.shape).toEqual([2, 5, 6, 16]);
    expect(kept.shape).toEqual([2, 5, 6, 8]);
    // The timestep embedding reaches the output: a different temb gives a different result.
    const other = widening.forward(x, tf.zerosLike(temb) as tf.Tensor2D);
    expect(tf.abs(tf.sub(other, widened)).max().dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([x, temb, widened, kept, other]);
    scope.store.dispose();
  });
});

describe("resampling", () => {
  it.each([
    [8, 8, 1, [4, 4]],
    [7, 5, 1, [4, 3]],
    [8, 8, 0, [4, 4]],
    [7, 5, 0, [3, 2]],
  ])("Downsample2D of %i×%i with padding %i gives PyTorch's output size", (height, width, padding, [outHeight, outWidth]) => {
    const scope = fresh();
    const down = new Downsample2D(scope, 4, padding);
    const y = down.forward(tf.ones([1, height, width, 4]) as tf.Tensor4D);
    expect(y.shape).toEqual([1, outHeight, outWidth, 4]);
    y.dispose();
    scope.store.dispose();
  });

  it("Upsample2D doubles height and width", () => {
    const scope = fresh();
    const up = new Upsample2D(scope, 4);
    const y = up.forward(tf.ones([2, 3, 5, 4]) as tf.Tensor4D);
    expect(y.shape).toEqual([2, 6, 10, 4]);
    y.dispose();
    scope.store.dispose();
  });
});

describe("Attention", () => {
  it("self-attention keeps [B,N,C]; cross-attention reads keys/values of another width", () => {
    const scope = fresh();
    const self = new Attention(scope.child("attn1"), 16, { heads: 4, qkvBias: false });
    const cross = new Attention(scope.child("attn2"), 16, { heads: 4, contextDim: 12, qkvBias: false });
    expect(scope.store.declared.get("attn2.to_k.weight")!.shape).toEqual([12, 16]);
    expect(scope.store.declared.has("attn1.to_q.bias")).toBe(false);
    expect(scope.store.declared.has("attn1.to_out.0.bias")).toBe(true);
    const x = tf.randomNormal([2, 9, 16], 0, 1, "float32", 5);
    const context = tf.randomNormal([2, 7, 12], 0, 1, "float32", 6);
    const a = self.forward(x);
    const b = cross.forward(x, context);
    expect(a.shape).toEqual([2, 9, 16]);
    expect(b.shape).toEqual([2, 9, 16]);
    tf.dispose([x, context, a, b]);
    scope.store.dispose();
  });
});
