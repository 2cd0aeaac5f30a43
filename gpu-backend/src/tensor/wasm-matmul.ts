/**
 * wasm's BatchMatMul with a transposed operand is 10–20× slower than on plain operands (XNNPACK's
 * fast GEMM wants both in row-major order): a [1024,128]ᵀ·[1024,512] product took 150 ms against 7 ms
 * after an explicit transpose. Backward passes of every linear layer ask for exactly those products
 * (dW = xᵀ·dy, dx = dy·Wᵀ), so this wraps the stock kernel: transpose the flagged operand with the
 * backend's own Transpose, then multiply plain.
 */
import {
  BatchMatMul,
  getKernel,
  registerKernel,
  Transpose,
  unregisterKernel,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

let wrapped = false;

/** Replaces wasm's BatchMatMul by the explicit-transpose version (once per process). */
export function registerPlainOperandMatMul(): void {
  const stock = getKernel(BatchMatMul, "wasm");
  const transpose = getKernel(Transpose, "wasm");
  if (wrapped || stock == null || transpose == null) return;
  wrapped = true;
  const multiply = stock.kernelFunc as KernelFunc;
  const kernelFunc = ({ inputs, backend, attrs }: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs }) => {
    const temporaries: TensorInfo[] = [];
    const plain = (x: TensorInfo, transposed: boolean) => {
      if (!transposed) return x;
      const perm = x.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      const result = (transpose.kernelFunc as KernelFunc)({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
      temporaries.push(result);
      return result;
    };
    const a = plain(inputs.a, attrs.transposeA);
    const b = plain(inputs.b, attrs.transposeB);
    const out = multiply({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
    for (const temporary of temporaries) backend.disposeData(temporary.dataId);
    return out;
  };
  unregisterKernel(BatchMatMul, "wasm");
  registerKernel({ ...stock, kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"] });
}
