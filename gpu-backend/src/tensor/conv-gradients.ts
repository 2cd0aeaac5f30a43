/**
 * Convolution gradients rewritten as forward convolutions and matrix products, registered as wasm's
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` kernels. The stock wasm backend
 * cannot train a network with convolutions: it has no `Conv2DBackpropFilter` at all, and its
 * `Conv2DBackpropInput` is a naive loop roughly ten times slower than its XNNPACK forward
 * convolution. Both gradients are ordinary linear maps, so we express them with the kernels wasm
 * does fast:
 *  - input gradient: dy padded by k − 1 and convolved (stride 1) with the filter flipped in space
 *    and with in/out channels swapped, one such convolution per stride phase (sub-filters), so a
 *    stride-2 gradient costs what its forward pass costs;
 *  - filter gradient: the k×k shifted views of the padded input, channels-first and split by stride
 *    phase so each view is a contiguous window ("im2col" without gathers, [k·k·Cin, ≈N·Ho·Wo]),
 *    times dy ([≈N·Ho·Wo, Cout]): one large GEMM with no transposed operand. On small maps, where the
 *    padded grid has many more positions than the output (8×8: 200 against 128 at batch 2), an im2col
 *    over the real positions instead.
 * The kernels compose other kernels of the same backend directly (as tfjs backends do internally),
 * copy contiguous blocks on the wasm heap themselves where wasm's gather-like kernels are slow, and
 * free every intermediate, so they add no tensors to the engine and work under any tape.
 * Only NHWC, dilation 1 (what tfjs' own conv2d gradient supports).
 */
import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelFunc,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { switchOn } from "./speed-switches.js";

interface KernelArgs<Inputs> {
  inputs: Inputs;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

/** Runs one wasm kernel and remembers its output so the caller can free it. */
class KernelScope {
  private readonly intermediates: TensorInfo[] = [];
  constructor(private readonly backend: BackendWasm) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, "wasm");
    if (kernel == null) throw new Error(`kernel ${kernelName} is not registered for backend wasm`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.intermediates.push(out);
    return out;
  }

  /**
   * Copies windows of a row-major [rows, columns] matrix into the rows of a new [windows, length]
   * one: result row i = x[windows[i].row, windows[i].column … + length]. One memcpy per window on the
   * wasm heap; wasm's Reverse, GatherV2 and Slice kernels walk element by element and were the
   * slowest part of these gradients.
   */
  copyWindows(x: TensorInfo, columns: number, windows: Array<{ row: number; column: number }>, length: number): TensorInfo {
    const out = this.backend.makeOutput([windows.length, length], x.dtype);
    const source = this.backend.typedArrayFromHeap(x);
    const target = this.backend.typedArrayFromHeap(out);
    windows.forEach(({ row, column }, i) => {
      const start = row * columns + column;
      target.set(source.subarray(start, start + length), i * length);
    });
    this.intermediates.push(out);
    return out;
  }

  zeros(shape: number[]): TensorInfo {
    const out = this.backend.makeOutput(shape, "float32");
    this.backend.typedArrayFromHeap(out).fill(0);
    this.intermediates.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }

  /** Pads with zeros where an amount is positive and crops where it is negative. */
  padOrCrop(x: TensorInfo, amounts: Array<[number, number]>): TensorInfo {
    const begin = amounts.map(([before]) => Math.max(0, -before));
    const size = amounts.map(([before, after], axis) => x.shape[axis] - begin[axis] - Math.max(0, -after));
    let out = x;
    if (amounts.some(([before, after]) => before < 0 || after < 0)) out = this.run("Slice", { x: out }, { begin, size });
    if (amounts.some(([before, after]) => before > 0 || after > 0)) {
      const paddings = amounts.map(([before, after]) => [Math.max(0, before), Math.max(0, after)]);
      out = this.run("PadV2", { x: out }, { paddings, constantValue: 0 });
    }
    return out;
  }

  /** Frees everything this scope made except `result`, which the engine takes over. */
  finish(result: TensorInfo): TensorInfo {
    for (const info of this.intermediates) if (info !== result) this.backend.disposeData(info.dataId);
    return result;
  }
}

function convInfoFor(xShape: number[], filterShape: number[], attrs: Conv2DBackpropInputAttrs | Conv2DBackpropFilterAttrs) {
  const dataFormat = backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (dataFormat !== "channelsLast") throw new Error("convolution gradients as convolutions support NHWC only");
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    dataFormat,
  );
}

/**
 * dx[q] = Σ over taps i with s·o + i = q of dy[o]·W[i]ᵀ (q in padded input coordinates). Output rows
 * of one stride phase a = q mod s only meet taps i ≡ a (mod s), so each of the s×s phases is a stride-1
 * convolution of dy (padded by M−1, M the phase's tap count) with the flipped sub-filter
 * W[s·(M−1−m) + a] and in/out channels swapped. The phases are interleaved by concatenation and the
 * padding cropped. With stride 1 this is the classic "full convolution with the flipped filter";
 * with stride 2 it does the same arithmetic as the forward pass instead of 4× that on a zero-dilated dy.
 */
function backpropInputAsConvolution() {
  return ({ inputs, backend, attrs }: KernelArgs<{ dy: TensorInfo; filter: TensorInfo }>) => {
    const { dy, filter } = inputs;
    const convAttrs = attrs as unknown as Conv2DBackpropInputAttrs;
    const [batch, height, width, inChannels] = convAttrs.inputShape;
    const info = convInfoFor(convAttrs.inputShape, filter.shape, convAttrs);
    if (switchOn("packActivations") && inputGradientProductPays(info)) return backpropInputAsProduct(dy, filter, info, backend);
    const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, outChannels } = info;
    const { top, left } = info.padInfo;
    const scope = new KernelScope(backend);
    // Phase rows/columns needed to cover padded coordinates 0 … pad + size.
    const phaseRows = Math.ceil((top + height) / strideHeight);
    const phaseColumns = Math.ceil((left + width) / strideWidth);
    const block = inChannels * outChannels;

    const phaseGradient = (rowPhase: number, columnPhase: number): TensorInfo => {
      const rowTaps = Math.ceil((filterHeight - rowPhase) / strideHeight);
      const columnTaps = Math.ceil((filterWidth - columnPhase) / strideWidth);
      if (rowTaps <= 0 || columnTaps <= 0) return scope.zeros([batch, phaseRows, phaseColumns, inChannels]);
      const windows: Array<{ row: number; column: number }> = [];
      for (let m = 0; m < rowTaps; m++) {
        for (let n = 0; n < columnTaps; n++) {
          const tapRow = strideHeight * (rowTaps - 1 - m) + rowPhase;
          const tapColumn = strideWidth * (columnTaps - 1 - n) + columnPhase;
          windows.push({ row: tapRow * filterWidth + tapColumn, column: 0 });
        }
      }
      const flipped = scope.reshape(scope.copyWindows(filter, block, windows, block), [windows.length, inChannels, outChannels]);
      const swapped = scope.reshape(scope.run("Transpose", { x: flipped }, { perm: [0, 2, 1] }), [rowTaps, columnTaps, outChannels, inChannels]);
      const framed = scope.padOrCrop(dy, [
        [0, 0],
        [rowTaps - 1, phaseRows - outHeight],
        [columnTaps - 1, phaseColumns - outWidth],
        [0, 0],
      ]);
      return scope.run("Conv2D", { x: framed, filter: swapped }, { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] });
    };

    // Interleave: phases along channels read as doubled width, phase rows stacked read as doubled height.
    const rowsOfPhase = Array.from({ length: strideHeight }, (_, rowPhase) => {
      const columns = Array.from({ length: strideWidth }, (_, columnPhase) => phaseGradient(rowPhase, columnPhase));
      const joined = columns.length === 1 ? columns[0] : scope.run("Concat", columns as unknown as NamedTensorInfoMap, { axis: 3 });
      return scope.reshape(joined, [batch, phaseRows, 1, phaseColumns * strideWidth * inChannels]);
    });
    const stacked = rowsOfPhase.length === 1 ? rowsOfPhase[0] : scope.run("Concat", rowsOfPhase as unknown as NamedTensorInfoMap, { axis: 2 });
    const padded = scope.reshape(stacked, [batch, phaseRows * strideHeight, phaseColumns * strideWidth, inChannels]);
    const dx = scope.padOrCrop(padded, [
      [0, 0],
      [-top, height + top - padded.shape[1]],
      [-left, width + left - padded.shape[2]],
      [0, 0],
    ]);
    if (dx.shape.join() !== [batch, height, width, inChannels].join()) {
      throw new Error(`Conv2DBackpropInput as convolution made shape ${dx.shape}, expected ${convAttrs.inputShape}`);
    }
    return scope.finish(dx);
  };
}

/**
 * Whether the input gradient is cheaper as one product and a col2im than as convolutions with the
 * flipped filter. Those convolutions' filter is a new tensor every step, which XNNPACK packs before it
 * computes (k·k·Cin·Cout values, ~1.6 ms for 3×3×256×128); the product packs dy instead (N·Ho·Wo·Cout)
 * and the col2im adds k·k·Cin·N·Ho·Wo values in JavaScript. Measured on the embedded model's shapes:
 * the product wins while the output has fewer positions than the filter has output channels.
 */
function productPays(info: backend_util.Conv2DInfo): boolean {
  return info.batchSize * info.outHeight * info.outWidth <= info.outChannels;
}

/**
 * The same trade for the input gradient, where the convolution route pays more: it packs a flipped
 * filter for each of the s×s stride phases and interleaves their outputs. Measured over the tiny and
 * small UNets' shapes at batch 1, 2 and 4 (CPU ms, convolutions → product): 8×8×64 at batch 2
 * 1.0–1.6 → 0.8–1.1, 4×4×192 4.2–6.4 → 1.2–2.0, a stride-2 16×16×32 0.5–0.9 → 0.3–0.45; the product
 * lost from 16×16×32 at stride 1 (0.73–0.98 → 1.1–1.26) and on the stride-2 32×32×48 (1.6 → 1.8).
 * Both sides of the line were within noise of each other at batch 4 (8×8×64: 1.4 against 1.36).
 */
function inputGradientProductPays(info: backend_util.Conv2DInfo): boolean {
  return info.batchSize * info.outHeight * info.outWidth <= 2 * info.outChannels * info.strideHeight * info.strideWidth;
}

/**
 * dx as P = W·dyᵀ ([k·k·Cin, Cout]·[Cout, N·Ho·Wo], the filter read as the matrix it already is) and a
 * col2im: dx[n, s·o + i − pad, c] += P[(i, c), (n, o)] for every tap i in both dimensions.
 */
function backpropInputAsProduct(dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, backend: BackendWasm): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const scope = new KernelScope(backend);
  const positions = batchSize * outHeight * outWidth;
  const product = scope.run(
    "BatchMatMul",
    { a: scope.reshape(filter, [1, filterHeight * filterWidth * inChannels, outChannels]), b: scope.reshape(dy, [1, positions, outChannels]) },
    { transposeA: false, transposeB: true },
  );
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], "float32");
  // Views after the allocation: growing the heap detaches older ones.
  const columns = backend.typedArrayFromHeap(product) as Float32Array;
  const target = backend.typedArrayFromHeap(dx) as Float32Array;
  target.fill(0);
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      const tap = (i * filterWidth + j) * inChannels * positions;
      for (let n = 0; n < batchSize; n++) {
        for (let oy = 0; oy < outHeight; oy++) {
          const y = oy * strideHeight + i - top;
          if (y < 0 || y >= inHeight) continue;
          for (let ox = 0; ox < outWidth; ox++) {
            const x = ox * strideWidth + j - left;
            if (x < 0 || x >= inWidth) continue;
            const from = tap + (n * outHeight + oy) * outWidth + ox;
            const to = ((n * inHeight + y) * inWidth + x) * inChannels;
            for (let c = 0, at = from; c < inChannels; c++, at += positions) target[to + c] += columns[at];
          }
        }
      }
    }
  }
  return scope.finish(dx);
}

/**
 * dW[i,j] = Σ over (n,h,w) of x_pad[n, s·h+i, s·w+j, :]ᵀ · dy[n,h,w,:]. Split the padded input into
 * its s×s stride phases, each laid out channels-first as a [C, N·Hq·Wq] matrix; then tap (i,j) is
 * the phase (i mod s, j mod s) shifted by (⌊i/s⌋, ⌊j/s⌋), which on the flattened grid is a column
 * offset of ⌊i/s⌋·Wq + ⌊j/s⌋. With dy zero-padded to the same Hq×Wq grid, positions that wrap past a
 * row or image edge meet zeros, so every tap is a contiguous column window — no strided gathers —
 * and the nine windows stacked make one GEMM [k·k·C, L]·[L, Cout] with no transposed operand.
 */
function backpropFilterAsMatMul() {
  return ({ inputs, backend, attrs }: KernelArgs<{ x: TensorInfo; dy: TensorInfo }>) => {
    const { x, dy } = inputs;
    const convAttrs = attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = convInfoFor(x.shape, convAttrs.filterShape, convAttrs);
    const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, inChannels, outChannels } = info;
    const batch = x.shape[0];
    const phaseHeight = Math.ceil(((outHeight - 1) * strideHeight + filterHeight) / strideHeight);
    const phaseWidth = Math.ceil(((outWidth - 1) * strideWidth + filterWidth) / strideWidth);
    const grid = batch * phaseHeight * phaseWidth;
    const maxOffset = Math.floor((filterHeight - 1) / strideHeight) * phaseWidth + Math.floor((filterWidth - 1) / strideWidth);
    const window = grid - maxOffset;
    if (switchOn("packActivations") && filterGradientIm2colPays(info, window)) return backpropFilterAsIm2col(x, dy, convAttrs.filterShape, info, backend);
    const scope = new KernelScope(backend);

    const { top, left } = info.padInfo;
    const padded = scope.padOrCrop(x, [
      [0, 0],
      [top, phaseHeight * strideHeight - x.shape[1] - top],
      [left, phaseWidth * strideWidth - x.shape[2] - left],
      [0, 0],
    ]);
    // [N·Hq, sh, Wq, sw·C] → [sh, sw·C, N·Hq, Wq] reads as [(phase, channel), grid position]; one 4-D
    // transpose, which wasm runs far faster than the 6-D one the phase split suggests.
    const split = scope.reshape(padded, [batch * phaseHeight, strideHeight, phaseWidth, strideWidth * inChannels]);
    const phasesFirst = scope.run("Transpose", { x: split }, { perm: [1, 3, 0, 2] });
    const phases = scope.reshape(phasesFirst, [strideHeight * strideWidth * inChannels, grid]);

    const dyOnGrid = scope.padOrCrop(dy, [[0, 0], [0, phaseHeight - outHeight], [0, phaseWidth - outWidth], [0, 0]]);
    const dyRows = scope.run("Slice", { x: scope.reshape(dyOnGrid, [grid, outChannels]) }, { begin: [0, 0], size: [window, outChannels] });

    const windows: Array<{ row: number; column: number }> = [];
    for (let row = 0; row < filterHeight; row++) {
      for (let col = 0; col < filterWidth; col++) {
        const phase = (row % strideHeight) * strideWidth + (col % strideWidth);
        const offset = Math.floor(row / strideHeight) * phaseWidth + Math.floor(col / strideWidth);
        for (let channel = 0; channel < inChannels; channel++) windows.push({ row: phase * inChannels + channel, column: offset });
      }
    }
    const columns = scope.copyWindows(phases, grid, windows, window);
    const product = scope.run(
      "BatchMatMul",
      { a: scope.reshape(columns, [1, filterHeight * filterWidth * inChannels, window]), b: scope.reshape(dyRows, [1, window, outChannels]) },
      { transposeA: false, transposeB: false },
    );
    return scope.finish(scope.reshape(product, convAttrs.filterShape));
  };
}

/**
 * A forward convolution with few output positions as im2col and one product with the filter read as the
 * [k·k·Cin, Cout] matrix it is (bias added by the product). XNNPACK packs a convolution's filter into a
 * layout of its own (~4.6 ns a value here) the first time it meets the tensor; training makes a new
 * filter every step, so at 4×4 and 8×8 latents the packing cost more than the convolution. The product
 * packs the same values as a GEMM's right-hand side (~2.5 ns a value) and caches that per tensor too,
 * so sampling with fixed weights packs once; the im2col is one copy of Cin values per tap and position.
 */
function forwardAsProduct(x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, info: backend_util.Conv2DInfo, backend: BackendWasm): TensorInfo {
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const scope = new KernelScope(backend);
  const depth = filterHeight * filterWidth * inChannels;
  const columns = im2col(scope, x, info, backend);
  const weights = scope.reshape(filter, [1, depth, outChannels]);
  const product = bias
    ? scope.run("_FusedMatMul", { a: columns, b: weights, bias }, { transposeA: false, transposeB: false, activation: "linear" })
    : scope.run("BatchMatMul", { a: columns, b: weights }, { transposeA: false, transposeB: false });
  return scope.finish(scope.reshape(product, [batchSize, outHeight, outWidth, outChannels]));
}

/**
 * The [1, N·Ho·Wo, k·k·Cin] matrix whose row for output position (n, oy, ox) holds the input values its
 * taps read, tap by tap, zeros where a tap falls in the padding: one copy of Cin values per tap and position.
 */
function im2col(scope: KernelScope, x: TensorInfo, info: backend_util.Conv2DInfo, backend: BackendWasm): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const positions = batchSize * outHeight * outWidth;
  const depth = filterHeight * filterWidth * inChannels;
  const columns = scope.zeros([1, positions, depth]);
  const source = backend.typedArrayFromHeap(x) as Float32Array;
  const target = backend.typedArrayFromHeap(columns) as Float32Array;
  for (let n = 0, row = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++, row += depth) {
        for (let i = 0; i < filterHeight; i++) {
          const y = oy * strideHeight + i - top;
          if (y < 0 || y >= inHeight) continue;
          for (let j = 0; j < filterWidth; j++) {
            const xx = ox * strideWidth + j - left;
            if (xx < 0 || xx >= inWidth) continue;
            const from = ((n * inHeight + y) * inWidth + xx) * inChannels;
            target.set(source.subarray(from, from + inChannels), row + (i * filterWidth + j) * inChannels);
          }
        }
      }
    }
  }
  return columns;
}

/**
 * Whether dW is cheaper as im2col(x)ᵀ·dy than on the padded grid above. The grid's product runs over
 * `window` ≈ N·(Ho+k−1)·(Wo+k−1) positions, the im2col's over the N·Ho·Wo real ones, but the im2col
 * copies its matrix twice (once to build, once to transpose). Fitted on the UNets' shapes (CPU ms,
 * grid → im2col): 8×8×64→64 at batch 2 1.3–1.6 → 0.85–0.96, 4×4×192→192 2.2–2.3 → 1.2–1.4, 16×16×96→96
 * 6.0–6.6 → 4.7–4.8; the grid kept 16×16×32→32 (0.69–0.85 against 0.89–1.0), 32×32×48→48 (5.2–5.4
 * against 6.3–7.4) and 64×64×32→32 at batch 1 (4.7–5.7 against 7.4–7.9).
 */
function filterGradientIm2colPays(info: backend_util.Conv2DInfo, window: number): boolean {
  const positions = info.batchSize * info.outHeight * info.outWidth;
  return (window - positions) * info.outChannels > 16 * (2 * positions - window);
}

/** dW as im2col(x)ᵀ·dy: [k·k·Cin, N·Ho·Wo]·[N·Ho·Wo, Cout], the transposed operand left to the batched-matMul kernel. */
function backpropFilterAsIm2col(x: TensorInfo, dy: TensorInfo, filterShape: number[], info: backend_util.Conv2DInfo, backend: BackendWasm): TensorInfo {
  const scope = new KernelScope(backend);
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const columns = im2col(scope, x, info, backend);
  const product = scope.run("BatchMatMul", { a: columns, b: scope.reshape(dy, [1, positions, info.outChannels]) }, { transposeA: true, transposeB: false });
  return scope.finish(scope.reshape(product, filterShape));
}

/** Filters a forward convolution has met (by data id): from the second use on XNNPACK's packed copy is the faster path. */
const seenFilters = new WeakSet<object>();

/**
 * Wraps wasm's Conv2D and FusedConv2D: a filter's first use with few output positions (and no activation
 * or dilation) goes to forwardAsProduct. Training meets every filter once (each step makes new weights);
 * sampling meets the same filters at every step, where XNNPACK's cached packing beats the im2col.
 */
function forwardRouting(stock: KernelFunc) {
  return (args: KernelArgs<{ x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo }>): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const firstUse = !seenFilters.has(inputs.filter.dataId);
    seenFilters.add(inputs.filter.dataId);
    const activation = (attrs.activation as string | undefined) ?? "linear";
    const dilations = attrs.dilations as number | [number, number] | undefined;
    const plain = activation === "linear" && inputs.preluActivationWeights == null && (dilations == null || [dilations].flat().every((d) => d === 1));
    if (firstUse && plain && switchOn("packActivations") && backend_util.convertConv2DDataFormat(attrs.dataFormat as "NHWC" | "NCHW") === "channelsLast") {
      const info = convInfoFor(inputs.x.shape, inputs.filter.shape, attrs as unknown as Conv2DBackpropInputAttrs);
      if (productPays(info)) return forwardAsProduct(inputs.x, inputs.filter, inputs.bias, info, backend);
    }
    return stock(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  };
}

const routed = new WeakSet<KernelFunc>();

/** Puts forwardRouting in front of wasm's stock forward convolutions. Idempotent. */
function registerForwardRouting(): void {
  for (const kernelName of [Conv2D, FusedConv2D]) {
    const current = getKernel(kernelName, "wasm");
    if (current == null) throw new Error(`wasm backend has no ${kernelName} kernel`);
    if (routed.has(current.kernelFunc)) continue;
    const kernelFunc = forwardRouting(current.kernelFunc) as unknown as KernelFunc;
    routed.add(kernelFunc);
    unregisterKernel(kernelName, "wasm");
    registerKernel({ ...current, kernelFunc });
  }
}

/** Makes wasm's convolution gradient kernels the rewrites above. Idempotent. */
export function registerWasmConvGradients(): void {
  const configs: KernelConfig[] = [
    { kernelName: Conv2DBackpropInput, backendName: "wasm", kernelFunc: backpropInputAsConvolution() as unknown as KernelConfig["kernelFunc"] },
    { kernelName: Conv2DBackpropFilter, backendName: "wasm", kernelFunc: backpropFilterAsMatMul() as unknown as KernelConfig["kernelFunc"] },
  ];
  for (const config of configs) {
    if (getKernel(config.kernelName, "wasm") != null) unregisterKernel(config.kernelName, "wasm");
    registerKernel(config);
  }
  registerForwardRouting();
}
