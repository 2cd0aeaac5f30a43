/**
 * Kernels a backward pass needs that the stock wasm backend lacks. Found by running the gradient of
 * every op our networks use on wasm (`wasm-kernels.test.ts` keeps that list honest). Today there is
 * one: `UnsortedSegmentSum`, the gradient of `gather`, which training the text encoder's token
 * embedding reaches. It is a scatter-add with no arithmetic to speed up, so it runs in JavaScript on
 * views of the wasm heap.
 */
import {
  getKernel,
  registerKernel,
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
} from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

function unsortedSegmentSum({ inputs, backend, attrs }: { inputs: { x: TensorInfo; segmentIds: TensorInfo }; backend: BackendWasm; attrs: UnsortedSegmentSumAttrs }): TensorInfo {
  const { x, segmentIds } = inputs;
  const rowSize = util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const out = backend.makeOutput([attrs.numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const source = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const target = backend.typedArrayFromHeap(out);
  target.fill(0);
  for (let row = 0; row < ids.length; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= attrs.numSegments) continue;
    const from = row * rowSize;
    const to = segment * rowSize;
    for (let k = 0; k < rowSize; k++) target[to + k] += source[from + k];
  }
  return out;
}

/** Registers the kernels above for wasm unless a later tfjs release brings its own. */
export function registerMissingWasmKernels(): void {
  if (getKernel(UnsortedSegmentSum, "wasm") != null) return;
  registerKernel({ kernelName: UnsortedSegmentSum, backendName: "wasm", kernelFunc: unsortedSegmentSum as unknown as KernelConfig["kernelFunc"] });
}
