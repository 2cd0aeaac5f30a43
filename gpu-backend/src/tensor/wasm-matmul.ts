/**
 * wasm's `BatchMatMul` with a transposed operand runs 10–20× slower than without one (measured on
 * 512×512×512: ~0.35 vs ~5 GFLOP/s under the same load): XNNPACK's fast path takes plain row-major
 * operands only, so transposes fall back to a naive loop. Every backward pass of a linear layer
 * needs both transposes (dx = dy·Wᵀ, dW = xᵀ·dy) and attention's scores need q·kᵀ, so this kernel
 * transposes the operand explicitly first (XNNPACK's transpose is a fast copy) and hands a plain
 * product to the stock kernel.
 */
import { BatchMatMul, getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

let stockBatchMatMul: KernelFunc | undefined;

function swapLastTwo(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const transpose = getKernel("Transpose", "wasm");
  if (transpose == null) throw new Error("wasm backend has no Transpose kernel");
  const perm = x.shape.map((_, axis) => axis);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

function batchMatMulWithoutTransposes(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: { transposeA: boolean; transposeB: boolean } }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const stock = stockBatchMatMul as KernelFunc;
  if (!attrs.transposeA && !attrs.transposeB) return stock(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  const a = attrs.transposeA ? swapLastTwo(inputs.a, backend) : inputs.a;
  const b = attrs.transposeB ? swapLastTwo(inputs.b, backend) : inputs.b;
  try {
    return stock({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  } finally {
    if (a !== inputs.a) backend.disposeData(a.dataId);
    if (b !== inputs.b) backend.disposeData(b.dataId);
  }
}

/** Wraps wasm's BatchMatMul as above. Idempotent: the stock kernel is captured once. */
export function registerWasmMatMulWithoutTransposes(): void {
  const current = getKernel(BatchMatMul, "wasm");
  if (current == null) throw new Error("wasm backend has no BatchMatMul kernel");
  if (current.kernelFunc === (batchMatMulWithoutTransposes as unknown as KernelFunc)) return;
  stockBatchMatMul = current.kernelFunc;
  unregisterKernel(BatchMatMul, "wasm");
  registerKernel({ ...current, kernelFunc: batchMatMulWithoutTransposes as unknown as KernelConfig["kernelFunc"] });
}
