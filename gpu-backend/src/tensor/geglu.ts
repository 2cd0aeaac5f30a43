/**
 * The GEGLU gate of the UNet's feed-forward, `hidden · gelu(gate)` with [hidden, gate] the two halves
 * of one projection, as one JavaScript kernel each way. Composed, it is a split, five ops for the exact
 * GELU and a product forward, and roughly twice that backward, each a full pass. Here one pass reads
 * the projection and writes the output; the backward pass writes the projection's gradient directly:
 *
 *   d hidden = dy · gelu(gate),  d gate = dy · hidden · (Φ(gate) + gate · φ(gate))
 *
 * With the `wasmSimd` switch (features a multiple of 4) both run as WebAssembly SIMD loops (wasm-simd.ts).
 * erf is tfjs' own approximation (Abramowitz & Stegun 7.1.26, the one its Erf kernels use), so values
 * match the composed ops; the gradient uses the exact density, as tfjs' Erf gradient does.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fastExp } from "./fast-exp.js";
import { hasJsKernel, registerJsKernel, runJsKernel, type JsKernel } from "./js-kernel.js";
import { simdKernelsFor } from "./wasm-simd.js";

const { ERF_P, ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5 } = tf.backend_util;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function erf(x: number): number {
  const v = Math.abs(x);
  const t = 1 / (1 + ERF_P * v);
  return Math.sign(x) * (1 - ((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t * fastExp(-v * v));
}

/** projected [R, 2F] → [R, F]. */
const FORWARD: JsKernel<Record<string, never>> = {
  name: "DreamboothGeglu",
  inputs: ["projected"],
  outputShapes: ([shape]) => [[...shape.slice(0, -1), shape[shape.length - 1] / 2]],
  compute([projected], [out], [shape]) {
    const features = shape[shape.length - 1] / 2;
    const rows = out.length / features;
    const simd = features % 4 === 0 ? simdKernelsFor(projected, out) : null;
    if (simd) return simd.geglu(projected, out, rows, features);
    for (let r = 0; r < rows; r++) {
      const from = r * 2 * features;
      const to = r * features;
      for (let j = 0; j < features; j++) {
        const gate = projected[from + features + j];
        out[to + j] = projected[from + j] * 0.5 * gate * (1 + erf(gate * Math.SQRT1_2));
      }
    }
  },
};

/** dy [R, F], projected [R, 2F] → d projected [R, 2F]. */
const BACKWARD: JsKernel<Record<string, never>> = {
  name: "DreamboothGegluGrad",
  inputs: ["dy", "projected"],
  outputShapes: ([, projected]) => [projected],
  compute([dy, projected], [dProjected], [, shape]) {
    const features = shape[shape.length - 1] / 2;
    const rows = dy.length / features;
    const simd = features % 4 === 0 ? simdKernelsFor(dy, projected, dProjected) : null;
    if (simd) return simd.gegluGrad(dy, projected, dProjected, rows, features);
    for (let r = 0; r < rows; r++) {
      const from = r * 2 * features;
      const at = r * features;
      for (let j = 0; j < features; j++) {
        const hidden = projected[from + j];
        const gate = projected[from + features + j];
        const cdf = 0.5 * (1 + erf(gate * Math.SQRT1_2));
        const density = INV_SQRT_2PI * fastExp(-0.5 * gate * gate);
        dProjected[from + j] = dy[at + j] * gate * cdf;
        dProjected[from + features + j] = dy[at + j] * hidden * (cdf + gate * density);
      }
    }
  },
};

export function registerGegluKernels(): void {
  registerJsKernel(FORWARD);
  registerJsKernel(BACKWARD);
}

export const hasGegluKernels = (): boolean => hasJsKernel(FORWARD as JsKernel<unknown>);

/** `hidden · gelu(gate)` of `projected` = [..., hidden | gate], with its own gradient. */
export function fusedGeglu(projected: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [out] = runJsKernel(FORWARD, [input], {});
    save([input]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runJsKernel(BACKWARD, [dy, saved[0]], {}),
    };
  });
  return op(projected);
}
