/**
 * Gradient checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory cost"): a block run
 * through `checkpoint` keeps only its inputs for the backward pass, not the activations inside it, and
 * recomputes those when the gradient arrives. A UNet with every resnet and transformer block checkpointed
 * holds one block's activations at a time instead of all of them, for one extra forward pass per step.
 *
 * tfjs' `customGrad` only returns gradients for its tensor inputs, so the block's trainable variables are
 * passed in as inputs too (found by module path with `trainableVariablesUnder`), and the recomputation
 * differentiates with respect to them as well. Outside a gradient tape the block simply runs.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ParamStore } from "./params.js";

/** The trainable weights and LoRA adapters of the module at `path` (e.g. "down_blocks.0.resnets.1"). */
export function trainableVariablesUnder(store: ParamStore, path: string): tf.Variable[] {
  const prefix = `${path}.`;
  const weights = [...store.params].filter(([name, { variable }]) => variable.trainable && name.startsWith(prefix)).map(([, { variable }]) => variable);
  const adapters = [...(store.lora?.adapters ?? [])]
    .filter(([modulePath]) => modulePath.startsWith(prefix))
    .flatMap(([, adapter]) => [adapter.down, adapter.up].filter((variable) => variable.trainable));
  return [...weights, ...adapters];
}

/**
 * Gradients of `block(...inputs)` against `dy` with respect to the inputs and `variables`, recomputing the
 * block on a tape of its own. tfjs' `gradients()` starts a fresh tape and clears it when done, assuming it
 * is not itself inside a backward pass; here it is, so the outer pass's tape is set aside and put back.
 */
function recomputedGradients(block: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], variables: tf.Variable[], dy: tf.Tensor): tf.Tensor[] {
  const engine = tf.engine();
  const outerTape = engine.state.activeTape;
  const xs = [...inputs, ...variables];
  try {
    const { value, grads } = engine.gradients(() => block(...inputs), xs, dy, true);
    value.dispose();
    return xs.map((x, i) => grads[i] ?? tf.zerosLike(x));
  } finally {
    engine.state.activeTape = outerTape;
  }
}

/** `block(...inputs)`, keeping only `inputs` for the backward pass; `variables` are the block's trainable weights. */
export function checkpoint<I extends [tf.Tensor, ...tf.Tensor[]], T extends tf.Tensor>(
  block: (...inputs: I) => T,
  inputs: I,
  variables: tf.Variable[],
): T {
  const run = tf.customGrad((...args) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const blockInputs = args.slice(0, inputs.length) as I;
    save(blockInputs);
    return {
      value: block(...blockInputs),
      gradFunc: (dy, saved) => recomputedGradients(block as unknown as (...inputs: tf.Tensor[]) => tf.Tensor, saved, variables, dy),
    };
  });
  return run(...inputs, ...variables) as T;
}
