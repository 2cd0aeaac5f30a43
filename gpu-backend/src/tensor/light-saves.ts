/**
 * What a kernel or a custom gradient saves for its gradient, shared instead of cloned. Under a gradient
 * tape tfjs' engine keeps every tensor a gradient needs as `keep(clone(t))`, and a clone is a whole
 * kernel run (an Identity, itself recorded on the tape) plus a second tape node for the clone's own
 * gradient. Two places do it: a kernel's saved inputs and outputs (`saveTensorsForBackwardMode`), and the
 * `save` a `tf.customGrad` function is handed — which tfjs' fused convolution and fused matMul use, as do
 * our attention and normalisations: all 509 Identity kernels left in a tiny-UNet training step after the
 * first. Tensors are immutable and the engine counts references per data id, so the saved tensor can be a
 * new handle on the same data with one more reference, which is what noCopy's Identity returns anyway,
 * without the kernel run and the tape nodes. (The clone's tape node only matters for a gradient of the
 * gradient, which nothing here takes: backward passes run with the tape off.)
 * Behind the `lightSaves` switch; backends without reference counts keep the stock clone.
 */
import * as tf from "@tensorflow/tfjs-core";
import { switchOn } from "./speed-switches.js";

type CustomGradientFunc = (...args: Array<tf.Tensor | tf.GradSaveFunc>) => { value: tf.Tensor; gradFunc: unknown };

interface EngineInternals {
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  customGrad(f: CustomGradientFunc): (...args: tf.Tensor[]) => tf.Tensor;
  clone(tensor: tf.Tensor): tf.Tensor;
  keep<T extends tf.Tensor>(tensor: T): T;
  nextTensorId(): number;
  incRef(tensor: tf.Tensor, backend: unknown): void;
  backend: { incRef?: unknown };
  lightSaves?: true;
}

type TensorConstructor = new (shape: number[], dtype: tf.DataType, dataId: object, id: number) => tf.Tensor;

function lightSavesApply(engine: EngineInternals): boolean {
  return switchOn("lightSaves") && typeof engine.backend.incRef === "function";
}

/** A new tensor on `tensor`'s data, tracked (one more tensor, one more reference) as an Identity's output would be. */
function sharedHandle(engine: EngineInternals, tensor: tf.Tensor): tf.Tensor {
  const shared = new (tf.Tensor as unknown as TensorConstructor)(tensor.shape, tensor.dtype, tensor.dataId, engine.nextTensorId());
  engine.incRef(shared, engine.backend);
  return shared;
}

/** Idempotent: patches the engine once. */
export function installLightSaves(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.lightSaves) return;
  const stockSave = engine.saveTensorsForBackwardMode;
  engine.saveTensorsForBackwardMode = function (this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
    if (!lightSavesApply(this)) return stockSave.call(this, tensors);
    return tensors.map((tensor) => this.keep(sharedHandle(this, tensor)));
  };

  // A custom gradient's `save` is a closure inside the engine's runKernelFunc that calls
  // `keep(clone(t))`; the clones it makes (and only those) become shared handles. `tf.clone` elsewhere,
  // a forward op whose gradient must flow through it, stays the engine's.
  let cloningSaves = false;
  const stockClone = engine.clone;
  engine.clone = function (this: EngineInternals, tensor: tf.Tensor): tf.Tensor {
    return cloningSaves && lightSavesApply(this) ? sharedHandle(this, tensor) : stockClone.call(this, tensor);
  };
  const stockCustomGrad = engine.customGrad;
  engine.customGrad = function (this: EngineInternals, f: CustomGradientFunc) {
    return stockCustomGrad.call(this, (...args) => {
      const save = args[args.length - 1] as tf.GradSaveFunc;
      const sharingSave: tf.GradSaveFunc = (tensors) => {
        cloningSaves = true;
        try {
          save(tensors);
        } finally {
          cloningSaves = false;
        }
      };
      return f(...args.slice(0, -1), sharingSave);
    });
  };
  engine.lightSaves = true;
}
