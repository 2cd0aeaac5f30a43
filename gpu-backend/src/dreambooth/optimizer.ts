/**
 * AdamW (Loshchilov & Hutter) exactly as `torch.optim.AdamW` steps, with the
 * global gradient-norm clipping of `clip_grad_norm_` in front of it. Written out
 * rather than using tfjs' Adam because DreamBooth needs decoupled weight decay,
 * a learning rate that changes per step, and optimizer state that a checkpoint
 * can save and restore bit for bit.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasJsKernel, registerJsKernel, runJsKernel, type JsKernel } from "../tensor/js-kernel.js";
import { switchOn } from "../tensor/speed-switches.js";
import { simdKernelsFor, type AdamWScalars } from "../tensor/wasm-simd.js";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-2 };

/** First and second moments per parameter name, and the number of steps taken. */
export interface AdamWState {
  step: number;
  firstMoment: Map<string, tf.Variable>;
  secondMoment: Map<string, tf.Variable>;
}

export function createAdamWState(parameters: Map<string, tf.Variable>): AdamWState {
  // tidy frees the zeros once the variable holds them (tf.variable keeps its own reference).
  const zerosLike = (parameter: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(parameter), false));
  return {
    step: 0,
    firstMoment: new Map([...parameters].map(([name, parameter]) => [name, zerosLike(parameter)])),
    secondMoment: new Map([...parameters].map(([name, parameter]) => [name, zerosLike(parameter)])),
  };
}

/**
 * Σx² over every element of every input, as a [1] tensor: one pass a tensor instead of Square then Sum,
 * and one kernel for the whole gradient, not one a parameter (a training step's 208–286 of them each
 * cost the engine's per-kernel overhead, as large as the tiny UNet's sums themselves).
 */
const SQUARED_SUM: JsKernel<Record<string, never>> = {
  name: "DreamboothSquaredSum",
  inputs: "list",
  outputShapes: () => [[1]],
  compute(xs, [out]) {
    let total = 0;
    for (const x of xs) {
      const simd = simdKernelsFor(x);
      if (simd) {
        total += simd.squaredSum(x);
        continue;
      }
      for (let i = 0; i < x.length; i++) total += x[i] * x[i];
    }
    out[0] = total;
  },
};

/** The step's scalars, shared with the SIMD loop (wasm-simd.ts), which documents them. */
type AdamWAttrs = AdamWScalars;

/**
 * Every parameter's AdamW update in one kernel: inputs (p, m, v, g) for each parameter in turn, outputs
 * (p', m', v') for each, one pass a parameter with the same arithmetic as the composed ops.
 */
const ADAMW: JsKernel<AdamWAttrs> = {
  name: "DreamboothAdamW",
  inputs: "list",
  outputShapes: (shapes) => shapes.flatMap((shape, i) => (i % 4 === 0 ? [shape, shape, shape] : [])),
  compute(inputs, outputs, _shapes, attrs) {
    for (let k = 0; 4 * k < inputs.length; k++) {
      const [p, m, v, g] = inputs.slice(4 * k, 4 * k + 4);
      const [pOut, mOut, vOut] = outputs.slice(3 * k, 3 * k + 3);
      adamWPass(p, m, v, g, pOut, mOut, vOut, attrs);
    }
  },
};

function adamWPass(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, attrs: AdamWAttrs): void {
  const { beta1, beta2, epsilon, decay, stepSize, rootBiasCorrection2, gradScale } = attrs;
  const simd = simdKernelsFor(p, m, v, g, pOut, mOut, vOut);
  if (simd) {
    simd.adamW([p, m, v, g], [pOut, mOut, vOut], attrs);
    return;
  }
  const keep1 = 1 - beta1;
  const keep2 = 1 - beta2;
  for (let i = 0; i < p.length; i++) {
    const gradient = g[i] * gradScale;
    const first = (mOut[i] = beta1 * m[i] + keep1 * gradient);
    const second = (vOut[i] = beta2 * v[i] + keep2 * gradient * gradient);
    pOut[i] = p[i] * decay - (stepSize * first) / (Math.sqrt(second) / rootBiasCorrection2 + epsilon);
  }
}
registerJsKernel(SQUARED_SUM);
registerJsKernel(ADAMW);

/** Whether the optimizer runs as one kernel per parameter here (wasm and cpu, `fusedAdamW` on). */
const fused = () => switchOn("fusedAdamW") && hasJsKernel(ADAMW as JsKernel<unknown>);

/** The global L2 norm of the gradients (`clip_grad_norm_`'s total norm). */
export function gradientNorm(gradients: Map<string, tf.Tensor>): number {
  const all = [...gradients.values()];
  if (all.length === 0) return 0;
  const norm = tf.tidy(() =>
    fused() && all.every((gradient) => gradient.dtype === "float32")
      ? tf.sqrt(runJsKernel(SQUARED_SUM, all, {})[0])
      : tf.sqrt(tf.addN(all.map((gradient) => tf.reshape(tf.sum(tf.square(gradient)), [1])))),
  );
  const value = norm.dataSync()[0];
  norm.dispose();
  return value;
}

/** The factor `clip_grad_norm_` scales gradients of global norm `norm` by: at most `maxNorm` after it. */
export const clipScale = (norm: number, maxNorm: number) => Math.min(1, maxNorm / (norm + 1e-6));

/**
 * One AdamW step at learning rate `lr`, updating `parameters` and `state` in place. `gradScale` multiplies
 * every gradient first: the clipping factor of `clipScale`, applied inside the step instead of as a copy.
 */
export function adamWStep(
  parameters: Map<string, tf.Variable>,
  gradients: Map<string, tf.Tensor>,
  state: AdamWState,
  lr: number,
  options: AdamWOptions = DEFAULT_ADAMW,
  gradScale = 1,
): void {
  const { beta1, beta2, epsilon, weightDecay } = options;
  state.step += 1;
  const biasCorrection1 = 1 - beta1 ** state.step;
  const biasCorrection2 = 1 - beta2 ** state.step;
  const attrs: AdamWAttrs = {
    beta1,
    beta2,
    epsilon,
    decay: 1 - lr * weightDecay,
    stepSize: lr / biasCorrection1,
    rootBiasCorrection2: Math.sqrt(biasCorrection2),
    gradScale,
  };
  const updates = [...parameters].filter(([name]) => gradients.has(name));
  if (updates.length === 0) return;
  if (fused() && updates.every(([, parameter]) => parameter.dtype === "float32")) {
    tf.tidy(() => {
      const outputs = runJsKernel(
        ADAMW,
        updates.flatMap(([name, parameter]) => [parameter, state.firstMoment.get(name)!, state.secondMoment.get(name)!, gradients.get(name)!]),
        attrs,
      );
      updates.forEach(([name, parameter], k) => {
        state.firstMoment.get(name)!.assign(outputs[3 * k + 1]);
        state.secondMoment.get(name)!.assign(outputs[3 * k + 2]);
        parameter.assign(outputs[3 * k]);
      });
    });
    return;
  }
  for (const [name, parameter] of updates) {
    const gradient = gradients.get(name)!;
    const firstMoment = state.firstMoment.get(name)!;
    const secondMoment = state.secondMoment.get(name)!;
    tf.tidy(() => {
      const scaled = gradScale === 1 ? gradient : tf.mul(gradient, gradScale);
      firstMoment.assign(tf.add(tf.mul(firstMoment, beta1), tf.mul(scaled, 1 - beta1)));
      secondMoment.assign(tf.add(tf.mul(secondMoment, beta2), tf.mul(tf.square(scaled), 1 - beta2)));
      const denominator = tf.add(tf.div(tf.sqrt(secondMoment), attrs.rootBiasCorrection2), epsilon);
      const update = tf.div(firstMoment, denominator);
      const decayed = tf.mul(parameter, attrs.decay);
      parameter.assign(tf.sub(decayed, tf.mul(update, attrs.stepSize)));
    });
  }
}
