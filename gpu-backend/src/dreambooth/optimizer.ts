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

/** Σx² of one tensor as a [1] tensor: one pass instead of Square then Sum. */
const SQUARED_SUM: JsKernel<Record<string, never>> = {
  name: "DreamboothSquaredSum",
  inputs: ["x"],
  outputShapes: () => [[1]],
  compute([x], [out]) {
    const simd = simdKernelsFor(x);
    if (simd) {
      out[0] = simd.squaredSum(x);
      return;
    }
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
    out[0] = sum;
  },
};

/** The step's scalars, shared with the SIMD loop (wasm-simd.ts), which documents them. */
type AdamWAttrs = AdamWScalars;

/** One parameter's AdamW update in one pass: (p, m, v, g) → (p', m', v'), the same arithmetic as the composed ops. */
const ADAMW: JsKernel<AdamWAttrs> = {
  name: "DreamboothAdamW",
  inputs: ["parameter", "firstMoment", "secondMoment", "gradient"],
  outputShapes: ([shape]) => [shape, shape, shape],
  compute([p, m, v, g], [pOut, mOut, vOut], _shapes, attrs) {
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
  },
};
registerJsKernel(SQUARED_SUM);
registerJsKernel(ADAMW);

/** Whether the optimizer runs as one kernel per parameter here (wasm and cpu, `fusedAdamW` on). */
const fused = () => switchOn("fusedAdamW") && hasJsKernel(ADAMW as JsKernel<unknown>);

/** The global L2 norm of the gradients (`clip_grad_norm_`'s total norm). */
export function gradientNorm(gradients: Map<string, tf.Tensor>): number {
  const norm = tf.tidy(() => {
    const squares = [...gradients.values()].map((gradient) =>
      fused() && gradient.dtype === "float32" ? runJsKernel(SQUARED_SUM, [gradient], {})[0] : tf.reshape(tf.sum(tf.square(gradient)), [1]),
    );
    return tf.sqrt(tf.addN(squares));
  });
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
  const oneKernel = fused();
  for (const [name, parameter] of parameters) {
    const gradient = gradients.get(name);
    if (!gradient) continue;
    const firstMoment = state.firstMoment.get(name)!;
    const secondMoment = state.secondMoment.get(name)!;
    tf.tidy(() => {
      if (oneKernel && parameter.dtype === "float32") {
        const [updated, first, second] = runJsKernel(ADAMW, [parameter, firstMoment, secondMoment, gradient], attrs);
        firstMoment.assign(first);
        secondMoment.assign(second);
        parameter.assign(updated);
        return;
      }
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
