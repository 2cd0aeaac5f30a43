/**
 * A faster wasm `BatchMatMul`. The stock kernel reaches XNNPACK's GEMM only for one plain product:
 * with a transposed operand, or with a batch of several matrices, it runs a naive loop at ~1 GFLOP/s
 * (CPU time) where XNNPACK does ~15. Every backward pass of a linear layer needs both transposes
 * (dx = dy·Wᵀ, dW = xᵀ·dy) and attention is batched over heads, so this kernel feeds XNNPACK one plain
 * product at a time. With the `transposeFree` switch (speed-switches.ts) the operands and the output
 * are views of the wasm heap (no per-matrix copies) and only a transposed operand is copied, transposed
 * in JavaScript blocks; without it each matrix is copied out, transposed by wasm's Transpose (~20 ms for
 * one 1024² matrix) and its product copied back in. Measured without the switch (CPU ms, same run):
 * 512³ with bᵀ 186 → 17; attention-sized [8,256,8]·[8,8,256] 11 → 6.5 and [8,256,256]·[8,256,8]
 * 6.5 → 2.2; [8,1024,40]·[8,40,1024] 551 → 42.
 */
import { BatchMatMul, getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { switchOn } from "./speed-switches.js";
import { simdKernelsFor } from "./wasm-simd.js";

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
 * Writes the [rows, cols] matrix at `start` of `source` transposed ([cols, rows]) at `targetStart` of
 * `target`: 4×4 blocks in WebAssembly SIMD registers where the `wasmSimd` loops may run (a 1024² matrix
 * in ~1 ms), else in JavaScript in 32×32 blocks (~4 ms).
 */
function transposeBlocks(source: Float32Array, start: number, rows: number, cols: number, target: Float32Array, targetStart: number): void {
  const simd = simdKernelsFor(source, target);
  if (simd) return simd.transpose(source, start, rows, cols, target, targetStart);
  const block = 32;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const rowEnd = Math.min(r0 + block, rows);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const colEnd = Math.min(c0 + block, cols);
      for (let r = r0; r < rowEnd; r++) {
        const from = start + r * cols;
        for (let c = c0; c < colEnd; c++) target[targetStart + c * rows + r] = source[from + c];
      }
    }
  }
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
  transposeBlocks(backend.typedArrayFromHeap(x) as Float32Array, index * rows * cols, rows, cols, backend.typedArrayFromHeap(out) as Float32Array, 0);
  return out;
}

/**
 * A [1, rows, cols] tensor over matrix `index` of x's memory: no copy. It must be let go with
 * `releaseView`, never `disposeData`, which would free memory the view does not own.
 */
function matrixView(x: TensorInfo, index: number, backend: BackendWasm): TensorInfo {
  const [rows, cols] = x.shape.slice(-2);
  const { memoryOffset } = backend.dataIdMap.get(x.dataId)!;
  return backend.makeOutput([1, rows, cols], "float32", memoryOffset + index * rows * cols * 4);
}

function releaseView(view: TensorInfo, backend: BackendWasm): void {
  const { id } = backend.dataIdMap.get(view.dataId)!;
  backend.wasm.tfjs.disposeData(id);
  backend.dataIdMap.delete(view.dataId);
}

type WasmProduct = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: boolean, transposeB: boolean, outId: number) => void;
let wasmProduct: WasmProduct | undefined;

/** out = a·b for [1, m, k]·[1, k, n] into an existing [1, m, n] tensor: the stock kernel's XNNPACK call. */
function productInto(a: TensorInfo, b: TensorInfo, out: TensorInfo, backend: BackendWasm): void {
  // The emscripten module exports cwrap (the stock kernel's setup uses it); its typings leave it out.
  const module = backend.wasm as unknown as { cwrap(name: string, returns: null, args: string[]): WasmProduct };
  wasmProduct ??= module.cwrap(BatchMatMul, null, ["number", "array", "number", "number", "array", "number", "number", "number", "number"]);
  const id = (x: TensorInfo) => backend.dataIdMap.get(x.dataId)!.id;
  const shape = (x: TensorInfo) => new Uint8Array(new Int32Array(x.shape).buffer);
  wasmProduct(id(a), shape(a), 3, id(b), shape(b), 3, false, false, id(out));
}

/**
 * Each product of the batch on views of the operands and of the output; only a transposed operand is
 * copied (transposed in JavaScript).
 */
function viewedBatchMatMul({ inputs: { a, b }, backend, attrs }: MatMulArgs, batchA: number, batchB: number, out: TensorInfo): void {
  const [m, n] = out.shape.slice(-2);
  const operand = (x: TensorInfo, index: number, transpose: boolean) =>
    transpose ? { tensor: transposedMatrixAt(x, index, backend), view: false } : { tensor: matrixView(x, index, backend), view: true };
  const letGo = ({ tensor, view }: { tensor: TensorInfo; view: boolean }) => (view ? releaseView(tensor, backend) : backend.disposeData(tensor.dataId));
  const batch = Math.max(batchA, batchB);
  const sharedB = batchB === 1 && batch > 1 ? operand(b, 0, attrs.transposeB) : undefined;
  for (let p = 0; p < batch; p++) {
    const ap = operand(a, batchA === 1 ? 0 : p, attrs.transposeA);
    const bp = sharedB ?? operand(b, p, attrs.transposeB);
    const target = backend.makeOutput([1, m, n], "float32", backend.dataIdMap.get(out.dataId)!.memoryOffset + p * m * n * 4);
    productInto(ap.tensor, bp.tensor, target, backend);
    releaseView(target, backend);
    letGo(ap);
    if (bp !== sharedB) letGo(bp);
  }
  if (sharedB) letGo(sharedB);
}

/**
 * One product computed as its transpose: C = op(a)·op(b) as (op(b)ᵀ·op(a)ᵀ)ᵀ. XNNPACK repacks the
 * right-hand operand of every product whose tensor it has not seen (its packed copy is cached by tensor,
 * and training makes new weights and activations each step): here that is op(a)ᵀ, m·k values, instead
 * of op(b)'s k·n. A linear layer's dx = dy·Wᵀ with few rows (8×8 latents at batch 1: 64 tokens) packed
 * its weight, and its dW = xᵀ·dy into a wide layer (32 → 256 channels) packed dy, when the other side
 * was a fraction of that; `transposedPays` weighs the packing against the extra transposes.
 */
function transposedProduct({ inputs: { a, b }, backend, attrs }: MatMulArgs, out: TensorInfo): void {
  const [m, n] = out.shape.slice(-2);
  const left = attrs.transposeB ? matrixView(b, 0, backend) : transposedMatrixAt(b, 0, backend);
  const right = attrs.transposeA ? matrixView(a, 0, backend) : transposedMatrixAt(a, 0, backend);
  const product = backend.makeOutput([1, n, m], "float32");
  productInto(left, right, product, backend);
  transposeBlocks(backend.typedArrayFromHeap(product) as Float32Array, 0, n, m, backend.typedArrayFromHeap(out) as Float32Array, 0);
  for (const [operand, view] of [[left, attrs.transposeB], [right, attrs.transposeA]] as const) {
    if (view) releaseView(operand, backend);
    else backend.disposeData(operand.dataId);
  }
  backend.disposeData(product.dataId);
}

/** XNNPACK's packing of a right-hand operand per value, in units of one value transposed on the heap (~2.5 ns against ~1). */
const PACK_COST = 2.5;

/**
 * Whether the transposed product moves fewer values: directly, op(a) and op(b) are copied where
 * transposed and op(b) is packed; transposed, op(b)ᵀ and op(a)ᵀ are copied where they are not views,
 * op(a)ᵀ is packed and the [n, m] result transposed back.
 */
function transposedPays(m: number, k: number, n: number, { transposeA, transposeB }: MatMulArgs["attrs"]): boolean {
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACK_COST * k * n;
  const transposed = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + PACK_COST * k * m + m * n;
  return transposed < direct;
}

/** The earlier route (switch off): each matrix copied out, transposed with wasm's Transpose, product copied in. */
function copiedBatchMatMul({ inputs: { a, b }, backend, attrs }: MatMulArgs, batchA: number, batchB: number, out: TensorInfo): void {
  const [m, n] = out.shape.slice(-2);
  for (let p = 0; p < Math.max(batchA, batchB); p++) {
    const ap = matrixAt(a, batchA === 1 ? 0 : p, backend);
    const bp = matrixAt(b, batchB === 1 ? 0 : p, backend);
    const product = plainProduct({ inputs: { a: ap, b: bp }, backend, attrs });
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(product), p * m * n);
    for (const info of [ap, bp, product]) backend.disposeData(info.dataId);
  }
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
  const fast = switchOn("transposeFree");
  if (batchA === 1 && batchB === 1 && (!fast || (!attrs.transposeA && !attrs.transposeB))) return plainProduct(args);
  const m = attrs.transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const out = backend.makeOutput([...outerDims, m, n], "float32");
  const k = attrs.transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  // Packing and copying aᵀ and the product's transpose (m·k + m·n values) against packing bᵀ (k·n).
  if (fast && batchA === 1 && batchB === 1 && switchOn("packActivations") && transposedPays(m, k, n, attrs)) transposedProduct(args, out);
  else (fast ? viewedBatchMatMul : copiedBatchMatMul)(args, batchA, batchB, out);
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
