/**
 * Identity without a copy on wasm. tfjs' gradient code clones tensors freely (a small tiny-UNet step
 * runs ~1,500 Identity and ~300 same-dtype Cast kernels) and stock wasm copies the whole tensor each
 * time. Tensors are immutable and tfjs counts references per data id, so the output can share the
 * input's memory, as the cpu backend's Identity and wasm's own Reshape already do.
 */
import { Cast, getKernel, Identity, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { switchOn } from "./speed-switches.js";

interface KernelArgs {
  inputs: { x: TensorInfo };
  backend: BackendWasm;
  attrs: { dtype?: string };
}

function shared({ inputs: { x }, backend }: KernelArgs): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Wraps wasm's `kernelName` so it shares memory when `shares(args)` and the switch is on. */
function wrap(kernelName: string, shares: (args: KernelArgs) => boolean): void {
  const stock = getKernel(kernelName, "wasm");
  if (stock == null) throw new Error(`wasm backend has no ${kernelName} kernel`);
  if ((stock.kernelFunc as { noCopy?: true }).noCopy) return;
  const kernelFunc = Object.assign(
    (args: KernelArgs) => (switchOn("noCopy") && args.inputs.x.dtype !== "string" && shares(args) ? shared(args) : stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0])),
    { noCopy: true as const },
  );
  unregisterKernel(kernelName, "wasm");
  registerKernel({ ...stock, kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"] });
}

/** Idempotent: a second call finds the wrappers in place. */
export function registerNoCopyKernels(): void {
  wrap(Identity, () => true);
  wrap(Cast, ({ inputs, attrs }) => attrs.dtype === inputs.x.dtype);
}
