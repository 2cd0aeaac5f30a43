/**
 * Kernels written in plain JavaScript over float32 arrays, registered for the wasm and cpu backends.
 * On wasm the arrays are views of the wasm heap, so a fused kernel reads its inputs and writes its
 * outputs in place, with no copy in or out; the cpu registration lets the same code be checked against
 * the cpu backend's composed ops. The `tensorflow` backend gets none: callers ask `hasJsKernel` and fall
 * back to composed ops there.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

export interface JsKernel<Attrs> {
  name: string;
  /** Input names, in the order `compute` receives them; "list": any number of inputs, in the order given. */
  inputs: string[] | "list";
  outputShapes(inputShapes: number[][], attrs: Attrs): number[][];
  /** Floats of working memory `compute` gets as `scratch` (on wasm, on the heap, so SIMD kernels can use it); none when absent. */
  scratch?(inputShapes: number[][], attrs: Attrs): number;
  compute(inputs: Float32Array[], outputs: Float32Array[], inputShapes: number[][], attrs: Attrs, scratch: Float32Array): void;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: unknown };

/** The kernel's inputs in `compute`'s order (a list kernel's are named by position). */
const inputList = <Attrs>(kernel: JsKernel<Attrs>, inputs: Record<string, tf.TensorInfo>) =>
  kernel.inputs === "list" ? Array.from({ length: Object.keys(inputs).length }, (_, i) => inputs[i]) : kernel.inputs.map((name) => inputs[name]);

function onWasm<Attrs>(kernel: JsKernel<Attrs>) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const wasm = backend as BackendWasm;
    const infos = inputList(kernel, inputs);
    const shapes = infos.map((info) => info.shape);
    const outputs = kernel.outputShapes(shapes, attrs as Attrs).map((shape) => wasm.makeOutput(shape, "float32"));
    const scratchFloats = kernel.scratch?.(shapes, attrs as Attrs) ?? 0;
    const scratch = scratchFloats > 0 ? wasm.makeOutput([scratchFloats], "float32") : undefined;
    // Views only after every allocation: growing the heap detaches earlier ones.
    const views = (list: tf.TensorInfo[]) => list.map((info) => wasm.typedArrayFromHeap(info) as Float32Array);
    try {
      kernel.compute(views(infos), views(outputs), shapes, attrs as Attrs, scratch ? views([scratch])[0] : new Float32Array(0));
    } finally {
      if (scratch) wasm.disposeData(scratch.dataId);
    }
    return outputs;
  };
}

function onCpu<Attrs>(kernel: JsKernel<Attrs>) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const cpu = backend as MathBackendCPU;
    const infos = inputList(kernel, inputs);
    const shapes = infos.map((info) => info.shape);
    const outputShapes = kernel.outputShapes(shapes, attrs as Attrs);
    const outputs = outputShapes.map((shape) => new Float32Array(size(shape)));
    kernel.compute(
      infos.map((info) => cpu.data.get(info.dataId)!.values as Float32Array),
      outputs,
      shapes,
      attrs as Attrs,
      new Float32Array(kernel.scratch?.(shapes, attrs as Attrs) ?? 0),
    );
    return outputs.map((values, i) => cpu.makeTensorInfo(outputShapes[i], "float32", values));
  };
}

/**
 * A float32 tensor's values without copying them where the backend allows: on wasm a view of the heap
 * (valid until the next allocation, which may move the heap), on cpu the backend's own array; elsewhere
 * a copy (and other dtypes as float32 copies). For reading only.
 */
export function tensorValues(tensor: tf.Tensor): Float32Array {
  if (tensor.dtype !== "float32") return Float32Array.from(tensor.dataSync());
  const backend = tf.backend();
  if (tf.getBackend() === "wasm") return (backend as BackendWasm).typedArrayFromHeap(tensor) as Float32Array;
  if (tf.getBackend() === "cpu") return (backend as MathBackendCPU).data.get(tensor.dataId)!.values as Float32Array;
  return tensor.dataSync() as Float32Array;
}

/** Registers `kernel` for wasm and cpu (once; later calls are no-ops). */
export function registerJsKernel<Attrs>(kernel: JsKernel<Attrs>): void {
  for (const [backendName, make] of [["wasm", onWasm], ["cpu", onCpu]] as const) {
    if (tf.getKernel(kernel.name, backendName) != null) continue;
    tf.registerKernel({ kernelName: kernel.name, backendName, kernelFunc: make(kernel) as unknown as tf.KernelFunc });
  }
}

/** Whether the current backend runs `kernel` (wasm and cpu do once it is registered). */
export function hasJsKernel(kernel: JsKernel<unknown>): boolean {
  return tf.getKernel(kernel.name, tf.getBackend()) != null;
}

/** Runs a registered kernel on float32 tensors; always returns the list of outputs. */
export function runJsKernel<Attrs>(kernel: JsKernel<Attrs>, inputs: tf.Tensor[], attrs: Attrs): tf.Tensor[] {
  const names = kernel.inputs === "list" ? inputs.map((_, i) => String(i)) : kernel.inputs;
  const named = Object.fromEntries(names.map((name, i) => [name, inputs[i]]));
  const result = tf.engine().runKernel(kernel.name, named, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(result) ? result : [result as tf.Tensor];
}
