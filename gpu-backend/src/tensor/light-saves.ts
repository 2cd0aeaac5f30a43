/**
 * What a kernel saves for its gradient, shared instead of cloned. Under a gradient tape tfjs' engine
 * keeps every input and output a kernel's gradient needs as `keep(clone(t))`, and a clone is a whole
 * kernel run (an Identity, itself recorded on the tape) plus a second tape node for the clone's own
 * gradient: three quarters of the Identity kernels in a training step (~1,200 of ~4,200 kernels in a
 * step of the embedded model) and about a tenth of its CPU time. Tensors are immutable and the engine
 * counts references per data id, so the saved tensor can be a new handle on the same data with one more
 * reference, which is what noCopy's Identity returns anyway, without the kernel run and the tape nodes.
 * Behind the `lightSaves` switch; backends without reference counts keep the stock clone.
 */
import * as tf from "@tensorflow/tfjs-core";
import { switchOn } from "./speed-switches.js";

interface EngineInternals {
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  keep<T extends tf.Tensor>(tensor: T): T;
  nextTensorId(): number;
  incRef(tensor: tf.Tensor, backend: unknown): void;
  backend: { incRef?: unknown };
  lightSaves?: true;
}

type TensorConstructor = new (shape: number[], dtype: tf.DataType, dataId: object, id: number) => tf.Tensor;

/** Idempotent: patches the engine once. */
export function installLightSaves(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.lightSaves) return;
  const stock = engine.saveTensorsForBackwardMode;
  engine.saveTensorsForBackwardMode = function (this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
    if (!switchOn("lightSaves") || typeof this.backend.incRef !== "function") return stock.call(this, tensors);
    return tensors.map((tensor) => {
      const shared = new (tf.Tensor as unknown as TensorConstructor)(tensor.shape, tensor.dtype, tensor.dataId, this.nextTensorId());
      // Tracks the handle (one more tensor, one more reference to the data) as the Identity's output would be.
      this.incRef(shared, this.backend);
      return this.keep(shared);
    });
  };
  engine.lightSaves = true;
}
