/**
 * AdamW (Loshchilov & Hutter) exactly as `torch.optim.AdamW` steps, with the
 * global gradient-norm clipping of `clip_grad_norm_` in front of it. Written out
 * rather than using tfjs' Adam because DreamBooth needs decoupled weight decay,
 * a learning rate that changes per step, and optimizer state that a checkpoint
 * can save and restore bit for bit.
 */
import * as tf from "@tensorflow/tfjs-core";

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

/** Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(gradients: Map<string, tf.Tensor>, maxNorm: number): { clipped: Map<string, tf.Tensor>; norm: number } {
  const norm = tf.tidy(() =>
    tf.sqrt(tf.addN([...gradients.values()].map((gradient) => tf.sum(tf.square(gradient))))),
  );
  const normValue = norm.dataSync()[0];
  norm.dispose();
  const scale = Math.min(1, maxNorm / (normValue + 1e-6));
  if (scale === 1) return { clipped: gradients, norm: normValue };
  const clipped = new Map([...gradients].map(([name, gradient]) => [name, tf.mul(gradient, scale)]));
  return { clipped, norm: normValue };
}

/** One AdamW step at learning rate `lr`, updating `parameters` and `state` in place. */
export function adamWStep(
  parameters: Map<string, tf.Variable>,
  gradients: Map<string, tf.Tensor>,
  state: AdamWState,
  lr: number,
  options: AdamWOptions = DEFAULT_ADAMW,
): void {
  const { beta1, beta2, epsilon, weightDecay } = options;
  state.step += 1;
  const biasCorrection1 = 1 - beta1 ** state.step;
  const biasCorrection2 = 1 - beta2 ** state.step;
  for (const [name, parameter] of parameters) {
    const gradient = gradients.get(name);
    if (!gradient) continue;
    const firstMoment = state.firstMoment.get(name)!;
    const secondMoment = state.secondMoment.get(name)!;
    tf.tidy(() => {
      firstMoment.assign(tf.add(tf.mul(firstMoment, beta1), tf.mul(gradient, 1 - beta1)));
      secondMoment.assign(tf.add(tf.mul(secondMoment, beta2), tf.mul(tf.square(gradient), 1 - beta2)));
      const denominator = tf.add(tf.div(tf.sqrt(secondMoment), Math.sqrt(biasCorrection2)), epsilon);
      const update = tf.div(firstMoment, denominator);
      const decayed = tf.mul(parameter, 1 - lr * weightDecay);
      parameter.assign(tf.sub(decayed, tf.mul(update, lr / biasCorrection1)));
    });
  }
}
