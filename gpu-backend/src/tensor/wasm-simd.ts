/**
 * WebAssembly SIMD loops that run on the tfjs wasm backend's own heap: the module imports the
 * backend's `WebAssembly.Memory`, so a kernel reads its inputs and writes its outputs where tfjs keeps
 * them, by byte offset, with no copy. Written as WebAssembly text below and assembled at start by
 * `wabt` (the WebAssembly Binary Toolkit compiled to wasm), so the source is what runs.
 *
 * They serve the elementwise passes that JavaScript runs slowest: AdamW over every parameter
 * (a square root and a division per element: 36 ms → 10 ms a step for the embedded model's 4.2 M parameters) and the
 * gradient's sum of squares. Four float32 lanes at a time, the same float32 arithmetic as the composed
 * tfjs ops; the sum of squares accumulates in float64 lanes as the JavaScript loop does. Behind the
 * `wasmSimd` speed switch; where they cannot run (cpu backend, tensorflow, a view off the heap) the
 * callers keep their JavaScript loops.
 */
import wabt from "wabt";
import { switchOn } from "./speed-switches.js";

const WAT = String.raw`
(module
  (import "env" "memory" (memory 1))

  ;; AdamW, torch.optim.AdamW's arithmetic, out of place: (p, m, v, g) → (p', m', v').
  ;;   g  ← g · gradScale              (the clipping factor)
  ;;   m' ← β₁ m + (1 − β₁) g
  ;;   v' ← β₂ v + (1 − β₂) g²
  ;;   p' ← p · decay − stepSize · m' / (√v' / rootBiasCorrection2 + ε)
  ;; keep1 = 1 − β₁ and keep2 = 1 − β₂ come from the caller, computed in float64: 1 − β₂ taken in
  ;; float32 is 1.3e-5 off (0.999 is not a float32), and so would every second moment be.
  (func (export "adamw")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32)
    (param $pOut i32) (param $mOut i32) (param $vOut i32) (param $n i32)
    (param $beta1 f32) (param $beta2 f32) (param $keep1 f32) (param $keep2 f32) (param $epsilon f32)
    (param $decay f32) (param $stepSize f32) (param $root f32) (param $gradScale f32)
    (local $i i32) (local $at i32) (local $end i32)
    (local $b1 v128) (local $b2 v128) (local $k1 v128) (local $k2 v128) (local $eps v128)
    (local $dec v128) (local $step v128) (local $rt v128) (local $gs v128)
    (local $grad v128) (local $first v128) (local $second v128)
    (local $gradS f32) (local $firstS f32) (local $secondS f32)
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $k1 (f32x4.splat (local.get $keep1)))
    (local.set $k2 (f32x4.splat (local.get $keep2)))
    (local.set $eps (f32x4.splat (local.get $epsilon)))
    (local.set $dec (f32x4.splat (local.get $decay)))
    (local.set $step (f32x4.splat (local.get $stepSize)))
    (local.set $rt (f32x4.splat (local.get $root)))
    (local.set $gs (f32x4.splat (local.get $gradScale)))
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $four
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $grad (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $at))) (local.get $gs)))
        (local.set $first (f32x4.add
          (f32x4.mul (local.get $b1) (v128.load (i32.add (local.get $m) (local.get $at))))
          (f32x4.mul (local.get $k1) (local.get $grad))))
        (local.set $second (f32x4.add
          (f32x4.mul (local.get $b2) (v128.load (i32.add (local.get $v) (local.get $at))))
          (f32x4.mul (f32x4.mul (local.get $k2) (local.get $grad)) (local.get $grad))))
        (v128.store (i32.add (local.get $mOut) (local.get $at)) (local.get $first))
        (v128.store (i32.add (local.get $vOut) (local.get $at)) (local.get $second))
        (v128.store (i32.add (local.get $pOut) (local.get $at))
          (f32x4.sub
            (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $at))) (local.get $dec))
            (f32x4.div
              (f32x4.mul (local.get $step) (local.get $first))
              (f32x4.add (f32x4.div (f32x4.sqrt (local.get $second)) (local.get $rt)) (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $tailDone
      (loop $one
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gradS (f32.mul (f32.load (i32.add (local.get $g) (local.get $at))) (local.get $gradScale)))
        (local.set $firstS (f32.add
          (f32.mul (local.get $beta1) (f32.load (i32.add (local.get $m) (local.get $at))))
          (f32.mul (local.get $keep1) (local.get $gradS))))
        (local.set $secondS (f32.add
          (f32.mul (local.get $beta2) (f32.load (i32.add (local.get $v) (local.get $at))))
          (f32.mul (f32.mul (local.get $keep2) (local.get $gradS)) (local.get $gradS))))
        (f32.store (i32.add (local.get $mOut) (local.get $at)) (local.get $firstS))
        (f32.store (i32.add (local.get $vOut) (local.get $at)) (local.get $secondS))
        (f32.store (i32.add (local.get $pOut) (local.get $at))
          (f32.sub
            (f32.mul (f32.load (i32.add (local.get $p) (local.get $at))) (local.get $decay))
            (f32.div
              (f32.mul (local.get $stepSize) (local.get $firstS))
              (f32.add (f32.div (f32.sqrt (local.get $secondS)) (local.get $root)) (local.get $epsilon)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))

  ;; Σx² of n float32 values, each squared and summed in float64.
  (func (export "squaredSum") (param $x i32) (param $n i32) (result f64)
    (local $i i32) (local $end i32) (local $four v128) (local $low v128) (local $high v128)
    (local $sumLow v128) (local $sumHigh v128) (local $value f64) (local $tail f64)
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $four
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $four (v128.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $low (f64x2.promote_low_f32x4 (local.get $four)))
        (local.set $high (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $four) (local.get $four))))
        (local.set $sumLow (f64x2.add (local.get $sumLow) (f64x2.mul (local.get $low) (local.get $low))))
        (local.set $sumHigh (f64x2.add (local.get $sumHigh) (f64x2.mul (local.get $high) (local.get $high))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $tailDone
      (loop $one
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $value (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $tail (f64.add (local.get $tail) (f64.mul (local.get $value) (local.get $value))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one)))
    (f64.add
      (f64.add (f64x2.extract_lane 0 (local.get $sumLow)) (f64x2.extract_lane 1 (local.get $sumLow)))
      (f64.add
        (f64.add (f64x2.extract_lane 0 (local.get $sumHigh)) (f64x2.extract_lane 1 (local.get $sumHigh)))
        (local.get $tail)))))
`;

/** One AdamW step's scalars (the optimizer's kernel attributes). */
export interface AdamWScalars {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 − lr·weight decay. */
  decay: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  rootBiasCorrection2: number;
  /** The gradient's clipping factor. */
  gradScale: number;
}

interface Exports {
  adamw(...args: number[]): void;
  squaredSum(x: number, n: number): number;
}

/** The kernels, bound to one heap. */
export interface SimdKernels {
  /** One AdamW step over equally long views of the heap, written into the three output views. */
  adamW(inputs: [Float32Array, Float32Array, Float32Array, Float32Array], outputs: [Float32Array, Float32Array, Float32Array], scalars: AdamWScalars): void;
  squaredSum(x: Float32Array): number;
}

let attached: { memory: WebAssembly.Memory; kernels: SimdKernels } | null = null;

/** Assembles the module and binds it to `memory` (the wasm backend's heap); idempotent per memory. */
export async function attachSimdKernels(memory: WebAssembly.Memory): Promise<SimdKernels> {
  if (attached?.memory === memory) return attached.kernels;
  const toolkit = await wabt();
  const parsed = toolkit.parseWat("wasm-simd.wat", WAT, { simd: true });
  let binary: Uint8Array;
  try {
    parsed.validate();
    binary = parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>), { env: { memory } });
  const exports = instance.exports as unknown as Exports;
  const kernels: SimdKernels = {
    adamW([p, m, v, g], [pOut, mOut, vOut], s) {
      exports.adamw(p.byteOffset, m.byteOffset, v.byteOffset, g.byteOffset, pOut.byteOffset, mOut.byteOffset, vOut.byteOffset, p.length,
        s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.epsilon, s.decay, s.stepSize, s.rootBiasCorrection2, s.gradScale);
    },
    squaredSum: (x) => exports.squaredSum(x.byteOffset, x.length),
  };
  attached = { memory, kernels };
  return kernels;
}

/** The kernels when they may run on every one of `views` (all on the attached heap, `wasmSimd` on); else null. */
export function simdKernelsFor(...views: Float32Array[]): SimdKernels | null {
  if (!attached || !switchOn("wasmSimd")) return null;
  const heap = attached.memory.buffer;
  return views.every((view) => view.buffer === heap) ? attached.kernels : null;
}
