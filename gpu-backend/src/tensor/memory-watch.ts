/**
 * The peak tensor memory of a stretch of work, counted two ways: tfjs' own count (`tf.memory().numBytes`,
 * which counts a reshape or a clone again though it shares its buffer) and the bytes of distinct buffers
 * (what a device actually holds). tfjs records peaks only while profiling every kernel (`tf.profile`),
 * which keeps a record per kernel — too much for a whole training job — so this watches the engine's
 * tensor bookkeeping instead. For measurement scripts and tests; one watch at a time.
 */
import * as tf from "@tensorflow/tfjs-core";

export interface MemoryWatch {
  /** Highest `tf.memory().numBytes` seen since the start or the last `reset`. */
  readonly peakBytes: number;
  /** Highest total of distinct tensor buffers seen since the start or the last `reset`. */
  readonly peakBufferBytes: number;
  /** Starts the peaks again from the current levels. */
  reset(): void;
  stop(): void;
}

interface EngineBookkeeping {
  state: { numBytes: number; tensorInfo: WeakMap<object, { bytes: number }> };
  trackTensor(tensor: tf.Tensor, backend: unknown): void;
  removeDataId(dataId: object, backend: unknown): void;
}

export function watchTensorMemory(): MemoryWatch {
  const engine = tf.engine() as unknown as EngineBookkeeping;
  if (Object.hasOwn(engine, "trackTensor")) throw new Error("a tensor memory watch is already running");
  const { trackTensor, removeDataId } = Object.getPrototypeOf(engine) as EngineBookkeeping;
  // tfjs keeps buffers in a WeakMap, so those alive now cannot be listed: they count as tfjs counts them.
  let bufferBytes = engine.state.numBytes;
  let peakBytes = engine.state.numBytes;
  let peakBufferBytes = bufferBytes;
  engine.trackTensor = function (tensor, backend) {
    const isNewBuffer = !engine.state.tensorInfo.has(tensor.dataId);
    trackTensor.call(engine, tensor, backend);
    if (isNewBuffer) bufferBytes += engine.state.tensorInfo.get(tensor.dataId)?.bytes ?? 0;
    peakBytes = Math.max(peakBytes, engine.state.numBytes);
    peakBufferBytes = Math.max(peakBufferBytes, bufferBytes);
  };
  engine.removeDataId = function (dataId, backend) {
    const bytes = engine.state.tensorInfo.get(dataId)?.bytes ?? 0;
    removeDataId.call(engine, dataId, backend);
    if (!engine.state.tensorInfo.has(dataId)) bufferBytes -= bytes;
  };
  return {
    get peakBytes() {
      return peakBytes;
    },
    get peakBufferBytes() {
      return peakBufferBytes;
    },
    reset() {
      peakBytes = engine.state.numBytes;
      peakBufferBytes = bufferBytes;
    },
    stop() {
      delete (engine as Partial<EngineBookkeeping>).trackTensor;
      delete (engine as Partial<EngineBookkeeping>).removeDataId;
    },
  };
}
