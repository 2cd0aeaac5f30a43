/**
 * Convolution gradients rewritten as forward convolutions and matrix products, registered as the
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` kernels of a backend. The stock wasm backend
 * cannot train a network with convolutions: it has no `Conv2DBackpropFilter` at all, and its
 * `Conv2DBackpropInput` is a naive loop roughly ten times slower than its XNNPACK forward
 * convolution. Both gradients are ordinary linear maps, so we express them with the kernels wasm
 * does fast:
 *  - input gradient: dy with `stride − 1` zeros between its elements, padded by `k − 1 − pad`, then
 *    convolved (stride 1) with the filter flipped in space and with in/out channels swapped;
 *  - filter gradient: the k×k shifted views of the padded input, channels-first and split by stride
 *    phase so each view is a contiguous window ("im2col" without gathers, [k·k·Cin, ≈N·Ho·Wo]),
 *    times dy ([≈N·Ho·Wo, Cout]): one large GEMM. (wasm's matMul with a transposed first operand
 *    runs at ~1 GFLOP/s, so the layout is chosen to need no transposed operand.)
 * The kernels compose other kernels of the same backend directly (as tfjs backends do internally),
 * copy contiguous blocks on the wasm heap themselves where wasm's gather-like kernels are slow, and
 * free every intermediate, so they add no tensors to the engine and work under any tape.
 * Only NHWC, dilation 1 (what tfjs' own conv2d gradient supports).
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
    type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

interface KernelArgs<Inputs> {
  inputs: Inputs;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

/** Runs one wasm kernel and remembers its output so the caller can free it. */
class KernelScope {
  private readonly intermediates: TensorInfo[] = [];
  constructor(
    private readonly backend: BackendWasm,
  ) {}

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

/** dx = conv(dilate(dy) padded by k−1−pad, flip(W) with in/out swapped), stride 1. */
function backpropInputAsConvolution() {
  return ({ inputs, backend, attrs }: KernelArgs<{ dy: TensorInfo; filter: TensorInfo }>) => {
    const { dy, filter } = inputs;
    const convAttrs = attrs as unknown as Conv2DBackpropInputAttrs;
    const [batch, height, width, inChannels] = convAttrs.inputShape;
    const info = convInfoFor(convAttrs.inputShape, filter.shape, convAttrs);
    const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, outChannels } = info;
    const scope = new KernelScope(backend);

    let spread = dy;
    if (strideHeight > 1 || strideWidth > 1) {
      // Interleave zeros: [N,Ho,1,Wo,1,C] padded to [N,Ho,sh,Wo,sw,C] reads as [N,Ho·sh,Wo·sw,C].
      const split = scope.reshape(dy, [batch, outHeight, 1, outWidth, 1, outChannels]);
      const zeros = [[0, 0], [0, 0], [0, strideHeight - 1], [0, 0], [0, strideWidth - 1], [0, 0]];
      const padded = scope.run("PadV2", { x: split }, { paddings: zeros, constantValue: 0 });
      spread = scope.reshape(padded, [batch, outHeight * strideHeight, outWidth * strideWidth, outChannels]);
    }
    const top = filterHeight - 1 - info.padInfo.top;
    const left = filterWidth - 1 - info.padInfo.left;
    const framed = scope.padOrCrop(spread, [
      [0, 0],
      [top, height + filterHeight - 1 - spread.shape[1] - top],
      [left, width + filterWidth - 1 - spread.shape[2] - left],
      [0, 0],
    ]);
    const taps = filterHeight * filterWidth;
    const block = inChannels * outChannels;
    const reversed = Array.from({ length: taps }, (_, i) => ({ row: taps - 1 - i, column: 0 }));
    const flipped = scope.reshape(scope.copyWindows(filter, block, reversed, block), [taps, inChannels, outChannels]);
    const swapped = scope.reshape(scope.run("Transpose", { x: flipped }, { perm: [0, 2, 1] }), [filterHeight, filterWidth, outChannels, inChannels]);
    const dx = scope.run(
      "Conv2D",
      { x: framed, filter: swapped },
      { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] },
    );
    if (dx.shape.join() !== [batch, height, width, inChannels].join()) {
      throw new Error(`Conv2DBackpropInput as convolution made shape ${dx.shape}, expected ${convAttrs.inputShape}`);
    }
    return scope.finish(dx);
  };
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
    const scope = new KernelScope(backend);

    const phaseHeight = Math.ceil(((outHeight - 1) * strideHeight + filterHeight) / strideHeight);
    const phaseWidth = Math.ceil(((outWidth - 1) * strideWidth + filterWidth) / strideWidth);
    const { top, left } = info.padInfo;
    const padded = scope.padOrCrop(x, [
      [0, 0],
      [top, phaseHeight * strideHeight - x.shape[1] - top],
      [left, phaseWidth * strideWidth - x.shape[2] - left],
      [0, 0],
    ]);
    const grid = batch * phaseHeight * phaseWidth;
    // [N·Hq, sh, Wq, sw·C] → [sh, sw·C, N·Hq, Wq] reads as [(phase, channel), grid position]; one 4-D
    // transpose, which wasm runs far faster than the 6-D one the phase split suggests.
    const split = scope.reshape(padded, [batch * phaseHeight, strideHeight, phaseWidth, strideWidth * inChannels]);
    const phasesFirst = scope.run("Transpose", { x: split }, { perm: [1, 3, 0, 2] });
    const phases = scope.reshape(phasesFirst, [strideHeight * strideWidth * inChannels, grid]);

    const maxOffset = Math.floor((filterHeight - 1) / strideHeight) * phaseWidth + Math.floor((filterWidth - 1) / strideWidth);
    const window = grid - maxOffset;
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
}
