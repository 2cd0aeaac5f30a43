/**
 * A faster wasm `Sum` for sums over leading axes. Every bias gradient is one: a convolution's bias sums
 * dy [N, H, W, C] over N, H and W, a linear layer's over every axis but the last. Stock wasm reduces only
 * innermost axes, so it first transposes the whole tensor to put the reduced axes last. Here the tensor
 * is read as [rows, cols] and summed down its columns by one SIMD loop on the wasm heap (wasm-simd.ts),
 * in float32 in row order as a sequential sum does. Other reductions, and everything with the
 * `wasmSimd` switch off, go to the stock kernel.
 */
import { getKernel, registerKernel, Sum, unregisterKernel, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { simdKernelsFor, simdKernelsOnBackend } from "./wasm-simd.js";

interface SumArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: { axis: number | number[]; keepDims: boolean };
}

/** The count of leading axes `axis` names, when it names exactly axes 0 … k−1 with k < rank; else 0. */
export function leadingAxes(axis: number | number[], rank: number): number {
  const axes = [...new Set(util.parseAxisParam(axis, Array.from({ length: rank }, (_, i) => i)))].sort((a, b) => a - b);
  return axes.length < rank && axes.every((a, i) => a === i) ? axes.length : 0;
}

function sumWith(stock: KernelFunc) {
  return (args: SumArgs): TensorInfo => {
    const { inputs: { x }, backend, attrs } = args;
    const leading = x.dtype === "float32" && simdKernelsOnBackend() ? leadingAxes(attrs.axis, x.shape.length) : 0;
    if (leading === 0) return stock(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const rows = util.sizeFromShape(x.shape.slice(0, leading));
    const kept = x.shape.slice(leading);
    const out = backend.makeOutput(attrs.keepDims ? [...x.shape.slice(0, leading).map(() => 1), ...kept] : kept, "float32");
    // Views after the allocation: growing the heap detaches older ones.
    const [source, target] = [x, out].map((info) => backend.typedArrayFromHeap(info) as Float32Array);
    const simd = simdKernelsFor(source, target);
    if (!simd) {
      backend.disposeData(out.dataId);
      return stock(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    simd.columnSums(source, target, rows, util.sizeFromShape(kept));
    return out;
  };
}

/** Wraps wasm's Sum; idempotent. */
export function registerWasmSum(): void {
  const stock = getKernel(Sum, "wasm");
  if (stock == null) throw new Error("wasm backend has no Sum kernel");
  if ((stock.kernelFunc as { leadingAxes?: true }).leadingAxes) return;
  unregisterKernel(Sum, "wasm");
  registerKernel({ ...stock, kernelFunc: Object.assign(sumWith(stock.kernelFunc), { leadingAxes: true as const }) as unknown as KernelConfig["kernelFunc"] });
}
