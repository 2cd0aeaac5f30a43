/**
 * Convolution gradients rewritten as forward convolutions and matrix products, registered as the
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` kernels of a backend. The stock wasm backend
 * cannot train a network with convolutions: it has no `Conv2DBackpropFilter` at all, and its
 * `Conv2DBackpropInput` is a naive loop roughly ten times slower than its XNNPACK forward
 * convolution. Both gradients are ordinary linear maps, so we express them with the kernels wasm
 * does fast:
 *  - input gradient: dy with `stride − 1` zeros between its elements, padded by `k − 1 − pad`, then
 *    convolved (stride 1) with the filter flipped in space and with in/out channels swapped;
 *  - filter gradient: the k×k shifted (and strided) views of the padded input stacked along channels
 *    ("im2col", shape [N·Ho·Wo, k·k·Cin]) multiplied by dy ([N·Ho·Wo, Cout]) with the first operand
 *    transposed, which is one large GEMM.
 * The kernels compose other kernels of the same backend directly (as tfjs backends do internally)
 * and free every intermediate, so they add no tensors to the engine and work under any tape.
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
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "@tensorflow/tfjs-core";

interface KernelArgs<Inputs> {
  inputs: Inputs;
  backend: KernelBackend;
  attrs: NamedAttrMap;
}

/** Runs one kernel of `backendName` and remembers its output so the caller can free it. */
class KernelScope {
  private readonly intermediates: TensorInfo[] = [];
  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, this.backendName);
    if (kernel == null) throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
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
function backpropInputAsConvolution(backendName: string) {
  return ({ inputs, backend, attrs }: KernelArgs<{ dy: TensorInfo; filter: TensorInfo }>) => {
    const { dy, filter } = inputs;
    const convAttrs = attrs as unknown as Conv2DBackpropInputAttrs;
    const [batch, height, width, inChannels] = convAttrs.inputShape;
    const info = convInfoFor(convAttrs.inputShape, filter.shape, convAttrs);
    const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, outChannels } = info;
    const scope = new KernelScope(backend, backendName);

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
    const flipped = scope.run("Reverse", { x: filter }, { dims: [0, 1] });
    const swapped = scope.run("Transpose", { x: flipped }, { perm: [0, 1, 3, 2] });
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

/** dW = im2col(x)ᵀ · dy, one GEMM with K = N·Ho·Wo. */
function backpropFilterAsMatMul(backendName: string) {
  return ({ inputs, backend, attrs }: KernelArgs<{ x: TensorInfo; dy: TensorInfo }>) => {
    const { x, dy } = inputs;
    const convAttrs = attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = convInfoFor(x.shape, convAttrs.filterShape, convAttrs);
    const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, inChannels, outChannels } = info;
    const batch = x.shape[0];
    const scope = new KernelScope(backend, backendName);

    // Pad so that every tap reads inside the tensor; crop the rows/columns no output reaches.
    const neededHeight = (outHeight - 1) * strideHeight + filterHeight;
    const neededWidth = (outWidth - 1) * strideWidth + filterWidth;
    const { top, left } = info.padInfo;
    const padded = scope.padOrCrop(x, [
      [0, 0],
      [top, neededHeight - x.shape[1] - top],
      [left, neededWidth - x.shape[2] - left],
      [0, 0],
    ]);
    const taps: TensorInfo[] = [];
    for (let row = 0; row < filterHeight; row++) {
      for (let col = 0; col < filterWidth; col++) {
        const strided = strideHeight > 1 || strideWidth > 1;
        taps.push(
          strided
            ? scope.run(
                "StridedSlice",
                { x: padded },
                {
                  begin: [0, row, col, 0],
                  end: [batch, row + (outHeight - 1) * strideHeight + 1, col + (outWidth - 1) * strideWidth + 1, inChannels],
                  strides: [1, strideHeight, strideWidth, 1],
                  beginMask: 0,
                  endMask: 0,
                  ellipsisMask: 0,
                  newAxisMask: 0,
                  shrinkAxisMask: 0,
                },
              )
            : scope.run("Slice", { x: padded }, { begin: [0, row, col, 0], size: [batch, outHeight, outWidth, inChannels] }),
        );
      }
    }
    const patches = taps.length === 1 ? taps[0] : scope.run("Concat", taps as unknown as NamedTensorInfoMap, { axis: 3 });
    const rows = batch * outHeight * outWidth;
    const columns = scope.reshape(patches, [1, rows, filterHeight * filterWidth * inChannels]);
    const gradients = scope.reshape(dy, [1, rows, outChannels]);
    const product = scope.run("BatchMatMul", { a: columns, b: gradients }, { transposeA: true, transposeB: false });
    return scope.finish(scope.reshape(product, convAttrs.filterShape));
  };
}

/**
 * Replaces `backendName`'s convolution gradient kernels with the rewrites above. Idempotent; the
 * forward kernels the rewrites use must already be registered (they are once the backend's package
 * is imported).
 */
export function registerConvGradientsAsConvolutions(backendName: string): void {
  const configs: KernelConfig[] = [
    { kernelName: Conv2DBackpropInput, backendName, kernelFunc: backpropInputAsConvolution(backendName) as KernelConfig["kernelFunc"] },
    { kernelName: Conv2DBackpropFilter, backendName, kernelFunc: backpropFilterAsMatMul(backendName) as KernelConfig["kernelFunc"] },
  ];
  for (const config of configs) {
    if (getKernel(config.kernelName, backendName) != null) unregisterKernel(config.kernelName, backendName);
    registerKernel(config);
  }
}
