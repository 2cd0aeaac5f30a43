/**
 * A faster wasm `BatchMatMul`. The stock kernel reaches XNNPACK's GEMM only for one plain product:
 * with a transposed operand, or with a batch of several matrices, it runs a naive loop at ~1 GFLOP/s
 * (CPU time) where XNNPACK does ~15. Every backward pass of a linear layer needs both transposes
 * (dx = dy·Wᵀ, dW = xᵀ·dy) and attention is batched over heads, so this kernel transposes operands
 * explicitly (XNNPACK's transpose is a fast copy) and feeds the stock kernel one plain product at a
 * time, copying each matrix of a batch out and its product back in. Measured (CPU ms, same run):
 * 512³ with bᵀ 186 → 17; attention-sized [8,256,8]·[8,8,256] 11 → 6.5 and [8,256,256]·[8,256,8]
 * 6.5 → 2.2; [8,1024,40]·[8,40,1024] 551 → 42.
 */
import { BatchMatMul, getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

let stockBatchMatMul: KernelFunc | undefined;

interface MatMulArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: BackendWasm;
  attrs: { transposeA: boolean; transposeB: boolean };
}

function runStock(args: MatMulArgs): TensorInfo {
  return (stockBatchMatMul as KernelFunc)(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}

function swapLastTwo(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const transpose = getKernel("Transpose", "wasm");
  if (transpose == null) throw new Error("wasm backend has no Transpose kernel");
  const perm = x.shape.map((_, axis) => axis);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

/** One product with transposes made explicit, so the stock kernel takes its XNNPACK path. */
function plainProduct({ inputs, backend, attrs }: MatMulArgs): TensorInfo {
  if (!attrs.transposeA && !attrs.transposeB) return runStock({ inputs, backend, attrs });
  const a = attrs.transposeA ? swapLastTwo(inputs.a, backend) : inputs.a;
  const b = attrs.transposeB ? swapLastTwo(inputs.b, backend) : inputs.b;
  try {
    return runStock({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
  } finally {
    if (a !== inputs.a) backend.disposeData(a.dataId);
    if (b !== inputs.b) backend.disposeData(b.dataId);
  }
}

/** Copies matrix `index` of a [batch, rows, cols] tensor into a new [1, rows, cols] one. */
function matrixAt(x: TensorInfo, index: number, backend: BackendWasm): TensorInfo {
  const [rows, cols] = x.shape.slice(-2);
  const out = backend.makeOutput([1, rows, cols], "float32");
  const source = backend.typedArrayFromHeap(x);
  backend.typedArrayFromHeap(out).set(source.subarray(index * rows * cols, (index + 1) * rows * cols));
  return out;
}

function batchMatMul(args: MatMulArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const outerDims = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  // Equal batches, or one side a single matrix broadcast over the other; anything fancier goes to stock.
  const simpleBroadcast = batchA === batchB || batchA === 1 || batchB === 1;
  if (a.dtype !== "float32" || b.dtype !== "float32" || !simpleBroadcast) return runStock(args);
  if (batchA === 1 && batchB === 1) return plainProduct(args);
  const m = attrs.transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([...outerDims, m, n], "float32");
  for (let p = 0; p < batch; p++) {
    const ap = matrixAt(a, batchA === 1 ? 0 : p, backend);
    const bp = matrixAt(b, batchB === 1 ? 0 : p, backend);
    const product = plainProduct({ inputs: { a: ap, b: bp }, backend, attrs });
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(product), p * m * n);
    for (const info of [ap, bp, product]) backend.disposeData(info.dataId);
  }
  return out;
}

/** Replaces wasm's BatchMatMul with the routing above. Idempotent: the stock kernel is captured once. */
export function registerWasmBatchMatMul(): void {
  const current = getKernel(BatchMatMul, "wasm");
  if (current == null) throw new Error("wasm backend has no BatchMatMul kernel");
  if (current.kernelFunc === (batchMatMul as unknown as KernelFunc)) return;
  stockBatchMatMul = current.kernelFunc;
  unregisterKernel(BatchMatMul, "wasm");
  registerKernel({ ...current, kernelFunc: batchMatMul as unknown as KernelConfig["kernelFunc"] });
}
