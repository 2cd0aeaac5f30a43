/**
 * A faster wasm `BatchMatMul`. The stock kernel reaches XNNPACK's GEMM only for one plain product:
 * with a transposed operand, or with a batch of several matrices, it runs a naive loop at ~1 GFLOP/s
 * (CPU time) where XNNPACK does ~15. Every backward pass of a linear layer needs both transposes
 * (dx = dy·Wᵀ, dW = xᵀ·dy) and attention is batched over heads, so this kernel transposes operands
 * explicitly (XNNPACK's transpose is a fast copy) and feeds the stock kernel one plain product at a
 * time, copying each matrix of a batch out (transposed there when asked) and its product back in. Measured (CPU ms, same run):
 * 512³ with bᵀ 186 → 17; attention-sized [8,256,8]·[8,8,256] 11 → 6.5 and [8,256,256]·[8,256,8]
 * 6.5 → 2.2; [8,1024,40]·[8,40,1024] 551 → 42.
 */
import { BatchMatMul, getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { switchOn } from "./speed-switches.js";

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

/**
 * `x`'s matrix `index` ([rows, cols] of a [..., rows, cols] tensor), transposed, as a new [1, cols, rows]
 * tensor: a blocked copy in JavaScript on the wasm heap. wasm's own Transpose takes ~20 ms for one
 * 1024² matrix (the attention backward's Pᵀ); this takes ~4.
 */
function transposedMatrixAt(x: TensorInfo, index: number, backend: BackendWasm): TensorInfo {
  const [rows, cols] = x.shape.slice(-2);
  const out = backend.makeOutput([1, cols, rows], "float32");
  // Views after the allocation: growing the heap detaches older ones.
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  const start = index * rows * cols;
  const block = 32;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const rowEnd = Math.min(r0 + block, rows);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const colEnd = Math.min(c0 + block, cols);
      for (let r = r0; r < rowEnd; r++) {
        const from = start + r * cols;
        for (let c = c0; c < colEnd; c++) target[c * rows + r] = source[from + c];
      }
    }
  }
  return out;
}

/** Matrix `index` of x, transposed when asked, as a new [1, rows', cols'] tensor. */
function operandAt(x: TensorInfo, index: number, transpose: boolean, backend: BackendWasm): TensorInfo {
  if (!transpose) return matrixAt(x, index, backend);
  if (switchOn("transposeFree")) return transposedMatrixAt(x, index, backend);
  const matrix = matrixAt(x, index, backend);
  const transposed = swapLastTwo(matrix, backend);
  backend.disposeData(matrix.dataId);
  return transposed;
}

/** One product with transposes made explicit, so the stock kernel takes its XNNPACK path. */
function plainProduct({ inputs, backend, attrs }: MatMulArgs): TensorInfo {
  if (!attrs.transposeA && !attrs.transposeB) return runStock({ inputs, backend, attrs });
  const explicit = (x: TensorInfo, transpose: boolean) =>
    !transpose ? x : switchOn("transposeFree") ? transposedMatrixAt(x, 0, backend) : swapLastTwo(x, backend);
  const a = explicit(inputs.a, attrs.transposeA);
  const b = explicit(inputs.b, attrs.transposeB);
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
    const ap = operandAt(a, batchA === 1 ? 0 : p, attrs.transposeA, backend);
    const bp = operandAt(b, batchB === 1 ? 0 : p, attrs.transposeB, backend);
    const product = runStock({ inputs: { a: ap, b: bp }, backend, attrs: { transposeA: false, transposeB: false } });
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
