/**
 * WebAssembly SIMD loops that run on the tfjs wasm backend's own heap: the module imports the
 * backend's `WebAssembly.Memory`, so a kernel reads its inputs and writes its outputs where tfjs keeps
 * them, by byte offset, with no copy. Written as WebAssembly text below and assembled at start by
 * `wabt` (the WebAssembly Binary Toolkit compiled to wasm), so the source is what runs.
 *
 * They serve the elementwise passes that JavaScript runs slowest: AdamW over every parameter
 * (a square root and a division per element: 36 ms → 10 ms a step for the embedded model's 4.2 M parameters), the
 * gradient's sum of squares, GroupNorm's (+SiLU's) sweeps forward and backward (group-norm.ts), LayerNorm
 * and GEGLU each way (all rows in one call: their JavaScript loops took 7 % and 5 % of the tiny UNet's
 * step), and the transposes of the batched products (wasm-matmul.ts: a 1024² matrix in ~0.9 ms against
 * ~4 in JavaScript), attention's softmax-Jacobian step (attention.ts) and sums down columns for the
 * bias gradients (wasm-reduce.ts), and whole attention forward and backward with few keys (attention.ts).
 * Four float32 lanes at a time, the same float32 arithmetic as the composed
 * tfjs ops; the sum of squares accumulates in float64 lanes as the JavaScript loop does. Behind the
 * `wasmSimd` speed switch; where they cannot run (cpu backend, tensorflow, a view off the heap) the
 * callers keep their JavaScript loops.
 */
import * as tf from "@tensorflow/tfjs-core";
import wabt from "wabt";
import { switchOn } from "./speed-switches.js";

const WAT = String.raw`
(module
  (import "env" "memory" (memory 1))

  ;; Vector constants: a v128.const in a loop is rebuilt on every pass; a global is one load.
  (global $f_m87 v128 (v128.const f32x4 -87 -87 -87 -87))
  (global $f_88 v128 (v128.const f32x4 88 88 88 88))
  (global $f_1p44269504 v128 (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
  (global $f_12582912 v128 (v128.const f32x4 12582912 12582912 12582912 12582912))
  (global $f_0p693359375 v128 (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
  (global $f_2p12194440Em4 v128 (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))
  (global $f_1 v128 (v128.const f32x4 1 1 1 1))
  (global $f_0p5 v128 (v128.const f32x4 0.5 0.5 0.5 0.5))
  (global $f_0p16666667 v128 (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667))
  (global $f_0p041666667 v128 (v128.const f32x4 0.041666667 0.041666667 0.041666667 0.041666667))
  (global $f_0p0083333333 v128 (v128.const f32x4 0.0083333333 0.0083333333 0.0083333333 0.0083333333))
  (global $f_0p0013888889 v128 (v128.const f32x4 0.0013888889 0.0013888889 0.0013888889 0.0013888889))
  (global $i_m1262485377 v128 (v128.const i32x4 -1262485377 -1262485377 -1262485377 -1262485377))
  (global $i_0 v128 (v128.const i32x4 0 0 0 0))
  (global $d_0 v128 (v128.const f64x2 0 0))
  (global $f_0p3275911 v128 (v128.const f32x4 0.3275911 0.3275911 0.3275911 0.3275911))
  (global $i_0x80000000 v128 (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
  (global $f_0p254829592 v128 (v128.const f32x4 0.254829592 0.254829592 0.254829592 0.254829592))
  (global $f_m0p284496736 v128 (v128.const f32x4 -0.284496736 -0.284496736 -0.284496736 -0.284496736))
  (global $f_1p421413741 v128 (v128.const f32x4 1.421413741 1.421413741 1.421413741 1.421413741))
  (global $f_m1p453152027 v128 (v128.const f32x4 -1.453152027 -1.453152027 -1.453152027 -1.453152027))
  (global $f_1p061405429 v128 (v128.const f32x4 1.061405429 1.061405429 1.061405429 1.061405429))
  (global $f_0p70710678 v128 (v128.const f32x4 0.70710678 0.70710678 0.70710678 0.70710678))
  (global $f_0p39894228 v128 (v128.const f32x4 0.39894228 0.39894228 0.39894228 0.39894228))
  (global $f_m0p5 v128 (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))
  (global $f_0 v128 (v128.const f32x4 0 0 0 0))
  (global $f_lowest v128 (v128.const f32x4 -3.4e38 -3.4e38 -3.4e38 -3.4e38))

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
        (local.get $tail))))
  ;; eˣ of four float32 lanes: 2ᵏ · eᵍ with k = nearest(x·log₂e), g = x − k·ln2 (ln2 in Cephes' two
  ;; parts, the first exact in k·ln2) and eᵍ from its degree-6 Taylor series (|g| ≤ ln2 / 2, relative
  ;; error ~1e-7); x clamped to [−87, 88], where float32's eˣ is finite and normal, as fast-exp.ts does.
  ;; k is rounded by adding 1.5·2²³ (the sum's low mantissa bits are then k, rounded to nearest even),
  ;; the clamps are pmin/pmax, and the constants are globals: f32x4.nearest, trunc_sat, the NaN-ordering
  ;; min/max and v128.const each compile to several instructions, and made this ~3× slower.
  (func $exp4 (param $x v128) (result v128)
    (local $shifted v128) (local $k v128) (local $g v128)
    (local.set $x (f32x4.pmin (f32x4.pmax (local.get $x) (global.get $f_m87)) (global.get $f_88)))
    (local.set $shifted (f32x4.add (f32x4.mul (local.get $x) (global.get $f_1p44269504))
      (global.get $f_12582912)))
    (local.set $k (f32x4.sub (local.get $shifted) (global.get $f_12582912)))
    (local.set $g (f32x4.add
      (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (global.get $f_0p693359375)))
      (f32x4.mul (local.get $k) (global.get $f_2p12194440Em4))))
    (f32x4.mul
      (f32x4.add (global.get $f_1) (f32x4.mul (local.get $g)
      (f32x4.add (global.get $f_1) (f32x4.mul (local.get $g)
      (f32x4.add (global.get $f_0p5) (f32x4.mul (local.get $g)
      (f32x4.add (global.get $f_0p16666667) (f32x4.mul (local.get $g)
      (f32x4.add (global.get $f_0p041666667) (f32x4.mul (local.get $g)
      (f32x4.add (global.get $f_0p0083333333) (f32x4.mul (local.get $g)
        (global.get $f_0p0013888889)))))))))))))
      ;; 2ᵏ: k + 127 in the exponent bits; 1.5·2²³'s bits are 0x4B400000, so k's are the sum's minus those.
      (i32x4.shl (i32x4.add (local.get $shifted) (global.get $i_m1262485377)) (i32.const 23))))

  ;; σ(y) = 1 / (1 + e⁻ʸ).
  (func $sigmoid4 (param $y v128) (result v128)
    (f32x4.div (global.get $f_1) (f32x4.add (global.get $f_1) (call $exp4 (f32x4.neg (local.get $y))))))

  ;; Adds the four lanes of $v, widened to float64, to the four float64 values at byte $to.
  (func $accumulate4 (param $to i32) (param $v v128)
    (v128.store (local.get $to) (f64x2.add (v128.load (local.get $to)) (f64x2.promote_low_f32x4 (local.get $v))))
    (v128.store offset=16 (local.get $to) (f64x2.add (v128.load offset=16 (local.get $to))
      (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))

  ;; Zeroes $bytes bytes from $to ($bytes a multiple of 16).
  (func $zero (param $to i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $to) (local.get $bytes)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $to) (local.get $end)))
      (v128.store (local.get $to) (global.get $i_0))
      (local.set $to (i32.add (local.get $to) (i32.const 16)))
      (br $each))))

  ;; The [rows, cols] float32 matrix at byte $src written transposed, [cols, rows], at byte $dst: 4×4
  ;; blocks through registers (two rounds of lane shuffles), in strips of 8 columns, so that the
  ;; target rows being written stay in cache (rows 4 KiB apart fall in the same cache sets: 1.8 → 0.9 ms
  ;; for a 1024² matrix); the
  ;; edges one value at a time.
  (func (export "transpose") (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32)
    (local $r i32) (local $c i32) (local $strip i32) (local $stripEnd i32) (local $rows4 i32) (local $cols4 i32)
    (local $rowBytes i32) (local $colBytes i32) (local $from i32) (local $to i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $rows) (i32.const 2)))
    (block $stripsDone (loop $stripLoop
      (br_if $stripsDone (i32.ge_u (local.get $strip) (local.get $cols4)))
      (local.set $stripEnd (i32.add (local.get $strip) (i32.const 8)))
      (if (i32.gt_u (local.get $stripEnd) (local.get $cols4)) (then (local.set $stripEnd (local.get $cols4))))
      (local.set $r (i32.const 0))
      (block $rowsDone (loop $rowBlock
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows4)))
        (local.set $c (local.get $strip))
        (loop $colBlock
          (local.set $from (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
          (local.set $v0 (v128.load (local.get $from)))
          (local.set $v1 (v128.load (i32.add (local.get $from) (local.get $rowBytes))))
          (local.set $v2 (v128.load (i32.add (local.get $from) (i32.shl (local.get $rowBytes) (i32.const 1)))))
          (local.set $v3 (v128.load (i32.add (local.get $from) (i32.mul (local.get $rowBytes) (i32.const 3)))))
          ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
          (local.set $to (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2))))
          (v128.store (local.get $to) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $to) (local.get $colBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $to) (i32.shl (local.get $colBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (v128.store (i32.add (local.get $to) (i32.mul (local.get $colBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $colBlock (i32.lt_u (local.get $c) (local.get $stripEnd))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rowBlock)))
      (local.set $strip (local.get $stripEnd))
      (br $stripLoop)))
    ;; The columns after the last block of four (rows of the blocks), then the rows after it (every column).
    (local.set $c (local.get $cols4))
    (block $edgeDone (loop $edge
      (br_if $edgeDone (i32.ge_u (local.get $c) (local.get $cols)))
      (call $copyColumn (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols) (i32.const 0) (local.get $rows4) (local.get $c))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $edge)))
    (local.set $c (i32.const 0))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $c) (local.get $cols)))
      (call $copyColumn (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols) (local.get $rows4) (local.get $rows) (local.get $c))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $tail))))

  ;; dst[c][r] = src[r][c] for r in [$from, $to): one column of the source into one row of the target.
  (func $copyColumn (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $from i32) (param $to i32) (param $c i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
      (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $from)) (i32.const 2)))
        (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $from) (local.get $cols)) (local.get $c)) (i32.const 2)))))
      (local.set $from (i32.add (local.get $from) (i32.const 1)))
      (br $each))))

  ;; LayerNorm over rows of $channels values ($channels a multiple of 4), as group-norm.ts computes it
  ;; with one group per row: Σx and Σx² in float64, variance E[x²] − μ², then
  ;; out = (x − μ)·(rstd·γ) + β; μ and rstd of each row written to $mean and $rstd.
  (func (export "layerNormForward") (param $x i32) (param $out i32) (param $rows i32) (param $channels i32)
    (param $gamma i32) (param $beta i32) (param $mean i32) (param $rstd i32) (param $eps f64)
    (local $row i32) (local $bytes i32) (local $c i32) (local $v v128) (local $lo v128) (local $hi v128)
    (local $sum v128) (local $squares v128) (local $mu f64) (local $r f64) (local $m v128) (local $rs v128)
    (local.set $bytes (i32.shl (local.get $channels) (i32.const 2)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
      (local.set $sum (global.get $d_0))
      (local.set $squares (global.get $d_0))
      (local.set $c (i32.const 0))
      (loop $four
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $c))))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
        (local.set $sum (f64x2.add (local.get $sum) (f64x2.add (local.get $lo) (local.get $hi))))
        (local.set $squares (f64x2.add (local.get $squares)
          (f64x2.add (f64x2.mul (local.get $lo) (local.get $lo)) (f64x2.mul (local.get $hi) (local.get $hi)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $bytes))))
      (local.set $mu (f64.div (f64.add (f64x2.extract_lane 0 (local.get $sum)) (f64x2.extract_lane 1 (local.get $sum))) (f64.convert_i32_u (local.get $channels))))
      (local.set $r (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $eps) (f64.max (f64.const 0)
        (f64.sub
          (f64.div (f64.add (f64x2.extract_lane 0 (local.get $squares)) (f64x2.extract_lane 1 (local.get $squares))) (f64.convert_i32_u (local.get $channels)))
          (f64.mul (local.get $mu) (local.get $mu))))))))
      (f32.store (i32.add (local.get $mean) (i32.shl (local.get $row) (i32.const 2))) (f32.demote_f64 (local.get $mu)))
      (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $row) (i32.const 2))) (f32.demote_f64 (local.get $r)))
      (local.set $m (f32x4.splat (f32.demote_f64 (local.get $mu))))
      (local.set $rs (f32x4.splat (f32.demote_f64 (local.get $r))))
      (local.set $c (i32.const 0))
      (loop $apply
        (v128.store (i32.add (local.get $out) (local.get $c)) (f32x4.add
          (f32x4.mul
            (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c))) (local.get $m))
            (f32x4.mul (local.get $rs) (v128.load (i32.add (local.get $gamma) (local.get $c)))))
          (v128.load (i32.add (local.get $beta) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $apply (i32.lt_u (local.get $c) (local.get $bytes))))
      (local.set $x (i32.add (local.get $x) (local.get $bytes)))
      (local.set $out (i32.add (local.get $out) (local.get $bytes)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $each))))

  ;; LayerNorm's gradient: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ and x̂ = (x − μ)·rstd,
  ;; the row means in float64; dγ = Σ dy·x̂ and dβ = Σ dy over the rows into float64 vectors.
  (func (export "layerNormGrad") (param $dy i32) (param $x i32) (param $dx i32) (param $rows i32) (param $channels i32)
    (param $gamma i32) (param $mean i32) (param $rstd i32) (param $dGamma i32) (param $dBeta i32)
    (local $row i32) (local $bytes i32) (local $c i32) (local $d v128) (local $xh v128) (local $g v128)
    (local $sumG v128) (local $sumGX v128) (local $m v128) (local $rs v128) (local $meanG v128) (local $meanGX v128)
    (local.set $bytes (i32.shl (local.get $channels) (i32.const 2)))
    (call $zero (local.get $dGamma) (i32.shl (local.get $bytes) (i32.const 1)))
    (call $zero (local.get $dBeta) (i32.shl (local.get $bytes) (i32.const 1)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
      (local.set $m (v128.load32_splat (i32.add (local.get $mean) (i32.shl (local.get $row) (i32.const 2)))))
      (local.set $rs (v128.load32_splat (i32.add (local.get $rstd) (i32.shl (local.get $row) (i32.const 2)))))
      (local.set $sumG (global.get $d_0))
      (local.set $sumGX (global.get $d_0))
      (local.set $c (i32.const 0))
      (loop $sums
        (local.set $d (v128.load (i32.add (local.get $dy) (local.get $c))))
        (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c))) (local.get $m)) (local.get $rs)))
        (local.set $g (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $gamma) (local.get $c)))))
        (local.set $sumG (f64x2.add (local.get $sumG) (call $pairSum (local.get $g))))
        (local.set $sumGX (f64x2.add (local.get $sumGX) (call $pairSum (f32x4.mul (local.get $g) (local.get $xh)))))
        (call $accumulate4 (i32.add (local.get $dBeta) (i32.shl (local.get $c) (i32.const 1))) (local.get $d))
        (call $accumulate4 (i32.add (local.get $dGamma) (i32.shl (local.get $c) (i32.const 1))) (f32x4.mul (local.get $d) (local.get $xh)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $sums (i32.lt_u (local.get $c) (local.get $bytes))))
      (local.set $meanG (f32x4.splat (f32.demote_f64 (f64.div
        (f64.add (f64x2.extract_lane 0 (local.get $sumG)) (f64x2.extract_lane 1 (local.get $sumG))) (f64.convert_i32_u (local.get $channels))))))
      (local.set $meanGX (f32x4.splat (f32.demote_f64 (f64.div
        (f64.add (f64x2.extract_lane 0 (local.get $sumGX)) (f64x2.extract_lane 1 (local.get $sumGX))) (f64.convert_i32_u (local.get $channels))))))
      (local.set $c (i32.const 0))
      (loop $apply
        (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c))) (local.get $m)) (local.get $rs)))
        (v128.store (i32.add (local.get $dx) (local.get $c)) (f32x4.mul (local.get $rs)
          (f32x4.sub
            (f32x4.sub
              (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $c))) (v128.load (i32.add (local.get $gamma) (local.get $c))))
              (local.get $meanG))
            (f32x4.mul (local.get $xh) (local.get $meanGX)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $apply (i32.lt_u (local.get $c) (local.get $bytes))))
      (local.set $x (i32.add (local.get $x) (local.get $bytes)))
      (local.set $dy (i32.add (local.get $dy) (local.get $bytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $bytes)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $each))))

  ;; The four float32 lanes of $v widened to float64 and added in pairs: (v0 + v2, v1 + v3).
  (func $pairSum (param $v v128) (result v128)
    (f64x2.add (f64x2.promote_low_f32x4 (local.get $v))
      (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))

  ;; erf by Abramowitz & Stegun 7.1.26, the approximation tfjs' Erf kernels use (geglu.ts):
  ;; sign(x)·(1 − t·(a₁ + t·(a₂ + t·(a₃ + t·(a₄ + t·a₅))))·e^(−x²)), t = 1 / (1 + p·|x|).
  (func $erf4 (param $x v128) (result v128)
    (local $v v128) (local $t v128)
    (local.set $v (f32x4.abs (local.get $x)))
    (local.set $t (f32x4.div (global.get $f_1)
      (f32x4.add (global.get $f_1) (f32x4.mul (global.get $f_0p3275911) (local.get $v)))))
    (v128.xor (v128.and (local.get $x) (global.get $i_0x80000000))
      (f32x4.sub (global.get $f_1)
        (f32x4.mul
          (f32x4.mul (local.get $t)
            (f32x4.add (global.get $f_0p254829592) (f32x4.mul (local.get $t)
            (f32x4.add (global.get $f_m0p284496736) (f32x4.mul (local.get $t)
            (f32x4.add (global.get $f_1p421413741) (f32x4.mul (local.get $t)
            (f32x4.add (global.get $f_m1p453152027) (f32x4.mul (local.get $t)
              (global.get $f_1p061405429))))))))))
          (call $exp4 (f32x4.neg (f32x4.mul (local.get $v) (local.get $v))))))))

  ;; GEGLU over rows of [hidden | gate] ($features each, a multiple of 4): out = hidden·gelu(gate),
  ;; gelu(g) = g·Φ(g), Φ(g) = (1 + erf(g/√2)) / 2.
  (func (export "geglu") (param $projected i32) (param $out i32) (param $rows i32) (param $features i32)
    (local $bytes i32) (local $end i32) (local $c i32) (local $gate v128)
    (local.set $bytes (i32.shl (local.get $features) (i32.const 2)))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $rows) (local.get $bytes))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $four
        (local.set $gate (v128.load (i32.add (i32.add (local.get $projected) (local.get $bytes)) (local.get $c))))
        (v128.store (i32.add (local.get $out) (local.get $c))
          (f32x4.mul (v128.load (i32.add (local.get $projected) (local.get $c)))
            (f32x4.mul (f32x4.mul (global.get $f_0p5) (local.get $gate))
              (f32x4.add (global.get $f_1)
                (call $erf4 (f32x4.mul (local.get $gate) (global.get $f_0p70710678)))))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $bytes))))
      (local.set $projected (i32.add (local.get $projected) (i32.shl (local.get $bytes) (i32.const 1))))
      (local.set $out (i32.add (local.get $out) (local.get $bytes)))
      (br $each))))

  ;; GEGLU's gradient: d hidden = dy·g·Φ(g), d gate = dy·hidden·(Φ(g) + g·φ(g)), φ the normal density.
  (func (export "gegluGrad") (param $dy i32) (param $projected i32) (param $dProjected i32) (param $rows i32) (param $features i32)
    (local $bytes i32) (local $end i32) (local $c i32) (local $gate v128) (local $d v128) (local $cdf v128) (local $density v128)
    (local.set $bytes (i32.shl (local.get $features) (i32.const 2)))
    (local.set $end (i32.add (local.get $dy) (i32.mul (local.get $rows) (local.get $bytes))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $dy) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $four
        (local.set $gate (v128.load (i32.add (i32.add (local.get $projected) (local.get $bytes)) (local.get $c))))
        (local.set $d (v128.load (i32.add (local.get $dy) (local.get $c))))
        (local.set $cdf (f32x4.mul (global.get $f_0p5) (f32x4.add (global.get $f_1)
          (call $erf4 (f32x4.mul (local.get $gate) (global.get $f_0p70710678))))))
        (local.set $density (f32x4.mul (global.get $f_0p39894228)
          (call $exp4 (f32x4.mul (global.get $f_m0p5) (f32x4.mul (local.get $gate) (local.get $gate))))))
        (v128.store (i32.add (local.get $dProjected) (local.get $c))
          (f32x4.mul (local.get $d) (f32x4.mul (local.get $gate) (local.get $cdf))))
        (v128.store (i32.add (i32.add (local.get $dProjected) (local.get $bytes)) (local.get $c))
          (f32x4.mul (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $projected) (local.get $c))))
            (f32x4.add (local.get $cdf) (f32x4.mul (local.get $gate) (local.get $density)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $bytes))))
      (local.set $projected (i32.add (local.get $projected) (i32.shl (local.get $bytes) (i32.const 1))))
      (local.set $dProjected (i32.add (local.get $dProjected) (i32.shl (local.get $bytes) (i32.const 1))))
      (local.set $dy (i32.add (local.get $dy) (local.get $bytes)))
      (br $each))))

  ;; Softmax's gradient through rows of probabilities p: dx = p·(dp − Σ dp·p), one row at a time.
  (func (export "softmaxGrad") (param $p i32) (param $dp i32) (param $dx i32) (param $rows i32) (param $cols i32)
    (local $row i32) (local $bytes i32) (local $full i32) (local $c i32) (local $acc v128) (local $dot f32) (local $d v128)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $full (i32.and (local.get $bytes) (i32.const -16)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
      (local.set $acc (global.get $f_0))
      (local.set $c (i32.const 0))
      (block $dotDone (loop $dotFour
        (br_if $dotDone (i32.ge_u (local.get $c) (local.get $full)))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $c))) (v128.load (i32.add (local.get $dp) (local.get $c))))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $dotFour)))
      (local.set $dot (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
      (block $dotTailDone (loop $dotOne
        (br_if $dotTailDone (i32.ge_u (local.get $c) (local.get $bytes)))
        (local.set $dot (f32.add (local.get $dot)
          (f32.mul (f32.load (i32.add (local.get $p) (local.get $c))) (f32.load (i32.add (local.get $dp) (local.get $c))))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $dotOne)))
      (local.set $d (f32x4.splat (local.get $dot)))
      (local.set $c (i32.const 0))
      (block $applyDone (loop $applyFour
        (br_if $applyDone (i32.ge_u (local.get $c) (local.get $full)))
        (v128.store (i32.add (local.get $dx) (local.get $c)) (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $c)))
          (f32x4.sub (v128.load (i32.add (local.get $dp) (local.get $c))) (local.get $d))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $applyFour)))
      (block $applyTailDone (loop $applyOne
        (br_if $applyTailDone (i32.ge_u (local.get $c) (local.get $bytes)))
        (f32.store (i32.add (local.get $dx) (local.get $c)) (f32.mul (f32.load (i32.add (local.get $p) (local.get $c)))
          (f32.sub (f32.load (i32.add (local.get $dp) (local.get $c))) (local.get $dot))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $applyOne)))
      (local.set $p (i32.add (local.get $p) (local.get $bytes)))
      (local.set $dp (i32.add (local.get $dp) (local.get $bytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $bytes)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $each))))

  ;; out[c] = Σ_r x[r][c] over a [rows, cols] matrix, in float32 in row order (as a sequential sum
  ;; over each column does): the bias gradients, which wasm's Sum reaches only after transposing.
  (func (export "columnSums") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $bytes i32) (local $full i32) (local $c i32) (local $end i32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $full (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $bytes))))
    (memory.fill (local.get $out) (i32.const 0) (local.get $bytes))
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $c (i32.const 0))
      (block $fourDone (loop $four
        (br_if $fourDone (i32.ge_u (local.get $c) (local.get $full)))
        (v128.store (i32.add (local.get $out) (local.get $c))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $c))) (v128.load (i32.add (local.get $x) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $four)))
      (block $oneDone (loop $one
        (br_if $oneDone (i32.ge_u (local.get $c) (local.get $bytes)))
        (f32.store (i32.add (local.get $out) (local.get $c))
          (f32.add (f32.load (i32.add (local.get $out) (local.get $c))) (f32.load (i32.add (local.get $x) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $one)))
      (local.set $x (i32.add (local.get $x) (local.get $bytes)))
      (br $row))))

  ;; The normalisation kernels of group-norm.ts over one sample x [positions, channels], channels a
  ;; multiple of 4. Per-channel float32 vectors hold each channel's group statistics and coefficients;
  ;; per-channel sums are float64. x̂ = (x − mean)·rstd: subtracting first keeps x̂ as exact as float32
  ;; allows however far the mean is from 0. In the loops $c is a byte offset into the channel vectors.

  ;; Per-channel Σx and Σx² over the positions, into float64 vectors.
  (func (export "channelSums") (param $x i32) (param $positions i32) (param $channels i32) (param $sums i32) (param $squares i32)
    (local $end i32) (local $row i32) (local $c i32) (local $v v128)
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (call $zero (local.get $sums) (i32.shl (local.get $row) (i32.const 1)))
    (call $zero (local.get $squares) (i32.shl (local.get $row) (i32.const 1)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $positions) (local.get $row))))
    (block $done (loop $position
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $four
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $c))))
        (call $accumulate4 (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 1))) (local.get $v))
        (call $accumulate4 (i32.add (local.get $squares) (i32.shl (local.get $c) (i32.const 1))) (f32x4.mul (local.get $v) (local.get $v)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $row))))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (br $position))))

  ;; out = y, or y·σ(y) when $silu, with y = (x − mean)·scale + beta (scale = rstd·γ).
  (func (export "normForward") (param $x i32) (param $out i32) (param $positions i32) (param $channels i32)
    (param $mean i32) (param $scale i32) (param $beta i32) (param $silu i32)
    (local $end i32) (local $row i32) (local $c i32) (local $y v128)
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $positions) (local.get $row))))
    (block $done (loop $position
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $four
        (local.set $y (f32x4.add
          (f32x4.mul
            (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c))) (v128.load (i32.add (local.get $mean) (local.get $c))))
            (v128.load (i32.add (local.get $scale) (local.get $c))))
          (v128.load (i32.add (local.get $beta) (local.get $c)))))
        (if (local.get $silu) (then (local.set $y (f32x4.mul (local.get $y) (call $sigmoid4 (local.get $y))))))
        (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $y))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $row))))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (local.set $out (i32.add (local.get $out) (local.get $row)))
      (br $position))))

  ;; The gradient's first sweep: dy = dOut, times SiLU's derivative σ(y)·(1 + y·(1 − σ(y))) at
  ;; y = x̂·γ + β when $silu, written to dx, and per-channel Σdy and Σdy·x̂ (float64).
  (func (export "normGradSums") (param $dOut i32) (param $x i32) (param $dx i32) (param $positions i32) (param $channels i32)
    (param $mean i32) (param $rstd i32) (param $gamma i32) (param $beta i32) (param $silu i32) (param $dySum i32) (param $dyXSum i32)
    (local $end i32) (local $row i32) (local $c i32) (local $normalized v128) (local $dy v128) (local $y v128) (local $s v128)
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (call $zero (local.get $dySum) (i32.shl (local.get $row) (i32.const 1)))
    (call $zero (local.get $dyXSum) (i32.shl (local.get $row) (i32.const 1)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $positions) (local.get $row))))
    (block $done (loop $position
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $four
        (local.set $normalized (f32x4.mul
          (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c))) (v128.load (i32.add (local.get $mean) (local.get $c))))
          (v128.load (i32.add (local.get $rstd) (local.get $c)))))
        (local.set $dy (v128.load (i32.add (local.get $dOut) (local.get $c))))
        (if (local.get $silu) (then
          (local.set $y (f32x4.add (f32x4.mul (local.get $normalized) (v128.load (i32.add (local.get $gamma) (local.get $c))))
            (v128.load (i32.add (local.get $beta) (local.get $c)))))
          (local.set $s (call $sigmoid4 (local.get $y)))
          (local.set $dy (f32x4.mul (local.get $dy) (f32x4.mul (local.get $s)
            (f32x4.add (global.get $f_1) (f32x4.mul (local.get $y) (f32x4.sub (global.get $f_1) (local.get $s)))))))))
        (v128.store (i32.add (local.get $dx) (local.get $c)) (local.get $dy))
        (call $accumulate4 (i32.add (local.get $dySum) (i32.shl (local.get $c) (i32.const 1))) (local.get $dy))
        (call $accumulate4 (i32.add (local.get $dyXSum) (i32.shl (local.get $c) (i32.const 1))) (f32x4.mul (local.get $dy) (local.get $normalized)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $row))))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (local.set $dOut (i32.add (local.get $dOut) (local.get $row)))
      (local.set $dx (i32.add (local.get $dx) (local.get $row)))
      (br $position))))

  ;; The gradient's second sweep, in place: dx = dy·a + x̂·b + k per channel.
  (func (export "normGradApply") (param $dx i32) (param $x i32) (param $positions i32) (param $channels i32)
    (param $mean i32) (param $rstd i32) (param $a i32) (param $b i32) (param $k i32)
    (local $end i32) (local $row i32) (local $c i32)
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $positions) (local.get $row))))
    (block $done (loop $position
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $four
        (v128.store (i32.add (local.get $dx) (local.get $c)) (f32x4.add
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $dx) (local.get $c))) (v128.load (i32.add (local.get $a) (local.get $c))))
            (f32x4.mul
              (f32x4.mul
                (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $c))) (v128.load (i32.add (local.get $mean) (local.get $c))))
                (v128.load (i32.add (local.get $rstd) (local.get $c))))
              (v128.load (i32.add (local.get $b) (local.get $c)))))
          (v128.load (i32.add (local.get $k) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $four (i32.lt_u (local.get $c) (local.get $row))))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (local.set $dx (i32.add (local.get $dx) (local.get $row)))
      (br $position))))

  ;; ---- Attention for one head at a time, on the [B, N, C] layout the projections make (no head splits) ----
  ;; Per (batch, head): K and V of the head written channels-first, [d][nk4] (nk4 = nk rounded up to 4,
  ;; the padding zeros), so four keys are one vector; then for each query row: the scores, softmax, P's row
  ;; (kept, [B, H, Nq, nk4], padding zero) and P·V, all on a row of nk4 floats that stays in cache.

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; dst[dd·nk4 + j] = src[j·channels + dd] (floats; src already at the head's first channel), zeros for j in [nk, nk4).
  (func $toColumns (param $src i32) (param $dst i32) (param $nk i32) (param $nk4 i32) (param $channels i32) (param $d i32)
    (local $j i32) (local $dd i32) (local $from i32)
    (block $rowsDone (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $j) (local.get $nk)))
      (local.set $from (i32.add (local.get $src) (i32.shl (i32.mul (local.get $j) (local.get $channels)) (i32.const 2))))
      (local.set $dd (i32.const 0))
      (loop $col
        (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $dd) (local.get $nk4)) (local.get $j)) (i32.const 2)))
          (f32.load (i32.add (local.get $from) (i32.shl (local.get $dd) (i32.const 2)))))
        (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
        (br_if $col (i32.lt_u (local.get $dd) (local.get $d))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $row)))
    (local.set $dd (i32.const 0))
    (loop $col
      (local.set $j (local.get $nk))
      (block $padDone (loop $pad
        (br_if $padDone (i32.ge_u (local.get $j) (local.get $nk4)))
        (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $dd) (local.get $nk4)) (local.get $j)) (i32.const 2))) (f32.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $pad)))
      (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
      (br_if $col (i32.lt_u (local.get $dd) (local.get $d)))))

  ;; dst[j·channels + dd] = src[dd·nk4 + j] for j < nk: the inverse of $toColumns.
  (func $fromColumns (param $src i32) (param $dst i32) (param $nk i32) (param $nk4 i32) (param $channels i32) (param $d i32)
    (local $j i32) (local $dd i32) (local $to i32)
    (block $rowsDone (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $j) (local.get $nk)))
      (local.set $to (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $j) (local.get $channels)) (i32.const 2))))
      (local.set $dd (i32.const 0))
      (loop $col
        (f32.store (i32.add (local.get $to) (i32.shl (local.get $dd) (i32.const 2)))
          (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $dd) (local.get $nk4)) (local.get $j)) (i32.const 2)))))
        (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
        (br_if $col (i32.lt_u (local.get $dd) (local.get $d))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $row))))

  ;; splats[dd] = x[dd]·factor for dd < d: one vector per value, loaded in the inner loops.
  (func $splats (param $x i32) (param $splats i32) (param $d i32) (param $factor f32)
    (local $dd i32)
    (loop $each
      (v128.store (i32.add (local.get $splats) (i32.shl (local.get $dd) (i32.const 4)))
        (f32x4.splat (f32.mul (f32.load (i32.add (local.get $x) (i32.shl (local.get $dd) (i32.const 2)))) (local.get $factor))))
      (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $dd) (local.get $d)))))

  ;; row[j] += Σ_dd splats[dd]·cols[dd][j] over the row's vectors (cols channels-first, rows $rowBytes apart):
  ;; four channels a pass, so the row is read and written once per four.
  (func $accumulateRows (param $row i32) (param $cols i32) (param $splats i32) (param $d i32) (param $rowBytes i32)
    (local $dd i32) (local $jb i32) (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $at i32)
    (block $quadsDone (loop $quads
      (br_if $quadsDone (i32.gt_u (i32.add (local.get $dd) (i32.const 4)) (local.get $d)))
      (local.set $at (i32.add (local.get $splats) (i32.shl (local.get $dd) (i32.const 4))))
      (local.set $s0 (v128.load (local.get $at)))
      (local.set $s1 (v128.load offset=16 (local.get $at)))
      (local.set $s2 (v128.load offset=32 (local.get $at)))
      (local.set $s3 (v128.load offset=48 (local.get $at)))
      (local.set $c0 (i32.add (local.get $cols) (i32.mul (local.get $dd) (local.get $rowBytes))))
      (local.set $c1 (i32.add (local.get $c0) (local.get $rowBytes)))
      (local.set $c2 (i32.add (local.get $c1) (local.get $rowBytes)))
      (local.set $c3 (i32.add (local.get $c2) (local.get $rowBytes)))
      (local.set $jb (i32.const 0))
      (loop $along
        (v128.store (i32.add (local.get $row) (local.get $jb)) (f32x4.add (v128.load (i32.add (local.get $row) (local.get $jb)))
          (f32x4.add
            (f32x4.add (f32x4.mul (local.get $s0) (v128.load (i32.add (local.get $c0) (local.get $jb))))
              (f32x4.mul (local.get $s1) (v128.load (i32.add (local.get $c1) (local.get $jb)))))
            (f32x4.add (f32x4.mul (local.get $s2) (v128.load (i32.add (local.get $c2) (local.get $jb))))
              (f32x4.mul (local.get $s3) (v128.load (i32.add (local.get $c3) (local.get $jb))))))))
        (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
        (br_if $along (i32.lt_u (local.get $jb) (local.get $rowBytes))))
      (local.set $dd (i32.add (local.get $dd) (i32.const 4)))
      (br $quads)))
    (block $singlesDone (loop $singles
      (br_if $singlesDone (i32.ge_u (local.get $dd) (local.get $d)))
      (local.set $s0 (v128.load (i32.add (local.get $splats) (i32.shl (local.get $dd) (i32.const 4)))))
      (local.set $c0 (i32.add (local.get $cols) (i32.mul (local.get $dd) (local.get $rowBytes))))
      (local.set $jb (i32.const 0))
      (loop $along1
        (v128.store (i32.add (local.get $row) (local.get $jb)) (f32x4.add (v128.load (i32.add (local.get $row) (local.get $jb)))
          (f32x4.mul (local.get $s0) (v128.load (i32.add (local.get $c0) (local.get $jb))))))
        (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
        (br_if $along1 (i32.lt_u (local.get $jb) (local.get $rowBytes))))
      (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
      (br $singles))))

  ;; out[dd] = factor·Σ_j row[j]·cols[dd][j] (floats at $out, one per channel): four channels a pass.
  (func $rowTimesColumns (param $row i32) (param $cols i32) (param $d i32) (param $rowBytes i32) (param $out i32) (param $factor f32)
    (local $dd i32) (local $jb i32) (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $r v128) (local $at i32)
    (block $quadsDone (loop $quads
      (br_if $quadsDone (i32.gt_u (i32.add (local.get $dd) (i32.const 4)) (local.get $d)))
      (local.set $c0 (i32.add (local.get $cols) (i32.mul (local.get $dd) (local.get $rowBytes))))
      (local.set $c1 (i32.add (local.get $c0) (local.get $rowBytes)))
      (local.set $c2 (i32.add (local.get $c1) (local.get $rowBytes)))
      (local.set $c3 (i32.add (local.get $c2) (local.get $rowBytes)))
      (local.set $a0 (global.get $f_0))
      (local.set $a1 (global.get $f_0))
      (local.set $a2 (global.get $f_0))
      (local.set $a3 (global.get $f_0))
      (local.set $jb (i32.const 0))
      (loop $along
        (local.set $r (v128.load (i32.add (local.get $row) (local.get $jb))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $c0) (local.get $jb))))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $c1) (local.get $jb))))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $c2) (local.get $jb))))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $c3) (local.get $jb))))))
        (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
        (br_if $along (i32.lt_u (local.get $jb) (local.get $rowBytes))))
      (local.set $at (i32.add (local.get $out) (i32.shl (local.get $dd) (i32.const 2))))
      (f32.store (local.get $at) (f32.mul (call $hsum (local.get $a0)) (local.get $factor)))
      (f32.store offset=4 (local.get $at) (f32.mul (call $hsum (local.get $a1)) (local.get $factor)))
      (f32.store offset=8 (local.get $at) (f32.mul (call $hsum (local.get $a2)) (local.get $factor)))
      (f32.store offset=12 (local.get $at) (f32.mul (call $hsum (local.get $a3)) (local.get $factor)))
      (local.set $dd (i32.add (local.get $dd) (i32.const 4)))
      (br $quads)))
    (block $singlesDone (loop $singles
      (br_if $singlesDone (i32.ge_u (local.get $dd) (local.get $d)))
      (local.set $c0 (i32.add (local.get $cols) (i32.mul (local.get $dd) (local.get $rowBytes))))
      (local.set $a0 (global.get $f_0))
      (local.set $jb (i32.const 0))
      (loop $along1
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (i32.add (local.get $row) (local.get $jb)))
          (v128.load (i32.add (local.get $c0) (local.get $jb))))))
        (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
        (br_if $along1 (i32.lt_u (local.get $jb) (local.get $rowBytes))))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $dd) (i32.const 2))) (f32.mul (call $hsum (local.get $a0)) (local.get $factor)))
      (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
      (br $singles))))

  ;; cols[dd][j] += splats[dd]·row[j]: the outer product of one row into channels-first columns, four channels a pass.
  (func $addOuter (param $cols i32) (param $splats i32) (param $row i32) (param $d i32) (param $rowBytes i32)
    (local $dd i32) (local $jb i32) (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $r v128) (local $at i32)
    (block $quadsDone (loop $quads
      (br_if $quadsDone (i32.gt_u (i32.add (local.get $dd) (i32.const 4)) (local.get $d)))
      (local.set $at (i32.add (local.get $splats) (i32.shl (local.get $dd) (i32.const 4))))
      (local.set $s0 (v128.load (local.get $at)))
      (local.set $s1 (v128.load offset=16 (local.get $at)))
      (local.set $s2 (v128.load offset=32 (local.get $at)))
      (local.set $s3 (v128.load offset=48 (local.get $at)))
      (local.set $c0 (i32.add (local.get $cols) (i32.mul (local.get $dd) (local.get $rowBytes))))
      (local.set $c1 (i32.add (local.get $c0) (local.get $rowBytes)))
      (local.set $c2 (i32.add (local.get $c1) (local.get $rowBytes)))
      (local.set $c3 (i32.add (local.get $c2) (local.get $rowBytes)))
      (local.set $jb (i32.const 0))
      (loop $along
        (local.set $r (v128.load (i32.add (local.get $row) (local.get $jb))))
        (local.set $at (i32.add (local.get $c0) (local.get $jb)))
        (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (f32x4.mul (local.get $s0) (local.get $r))))
        (local.set $at (i32.add (local.get $c1) (local.get $jb)))
        (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (f32x4.mul (local.get $s1) (local.get $r))))
        (local.set $at (i32.add (local.get $c2) (local.get $jb)))
        (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (f32x4.mul (local.get $s2) (local.get $r))))
        (local.set $at (i32.add (local.get $c3) (local.get $jb)))
        (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (f32x4.mul (local.get $s3) (local.get $r))))
        (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
        (br_if $along (i32.lt_u (local.get $jb) (local.get $rowBytes))))
      (local.set $dd (i32.add (local.get $dd) (i32.const 4)))
      (br $quads)))
    (block $singlesDone (loop $singles
      (br_if $singlesDone (i32.ge_u (local.get $dd) (local.get $d)))
      (local.set $s0 (v128.load (i32.add (local.get $splats) (i32.shl (local.get $dd) (i32.const 4)))))
      (local.set $c0 (i32.add (local.get $cols) (i32.mul (local.get $dd) (local.get $rowBytes))))
      (local.set $jb (i32.const 0))
      (loop $along1
        (local.set $at (i32.add (local.get $c0) (local.get $jb)))
        (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at))
          (f32x4.mul (local.get $s0) (v128.load (i32.add (local.get $row) (local.get $jb))))))
        (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
        (br_if $along1 (i32.lt_u (local.get $jb) (local.get $rowBytes))))
      (local.set $dd (i32.add (local.get $dd) (i32.const 1)))
      (br $singles))))

  ;; out = softmax(q·scale·kᵀ)·v per head, with P = the softmax kept for the gradient.
  ;; Scratch (bytes): Kt and Vt d·nk4 floats each, then d vectors for the query's splats.
  (func (export "attentionForward") (param $q i32) (param $k i32) (param $v i32) (param $out i32) (param $p i32)
    (param $batch i32) (param $nq i32) (param $nk i32) (param $channels i32) (param $heads i32) (param $scale f32) (param $scratch i32)
    (local $d i32) (local $nk4 i32) (local $rowBytes i32) (local $kt i32) (local $vt i32) (local $qs i32)
    (local $b i32) (local $h i32) (local $i i32) (local $dd i32) (local $jb i32) (local $j i32)
    (local $pRow i32) (local $qRow i32) (local $headOffset i32)
    (local $acc v128) (local $m v128) (local $s v128) (local $e v128) (local $max f32) (local $sum f32) (local $r v128)
    (local.set $d (i32.div_u (local.get $channels) (local.get $heads)))
    (local.set $nk4 (i32.and (i32.add (local.get $nk) (i32.const 3)) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $nk4) (i32.const 2)))
    (local.set $kt (local.get $scratch))
    (local.set $vt (i32.add (local.get $kt) (i32.mul (local.get $d) (local.get $rowBytes))))
    (local.set $qs (i32.add (local.get $vt) (i32.mul (local.get $d) (local.get $rowBytes))))
    (local.set $pRow (local.get $p))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $h (i32.const 0))
      (loop $headLoop
        (local.set $headOffset (i32.shl (i32.add (i32.mul (i32.mul (local.get $b) (local.get $nk)) (local.get $channels)) (i32.mul (local.get $h) (local.get $d))) (i32.const 2)))
        (call $toColumns (i32.add (local.get $k) (local.get $headOffset)) (local.get $kt) (local.get $nk) (local.get $nk4) (local.get $channels) (local.get $d))
        (call $toColumns (i32.add (local.get $v) (local.get $headOffset)) (local.get $vt) (local.get $nk) (local.get $nk4) (local.get $channels) (local.get $d))
        (local.set $i (i32.const 0))
        (block $rowsDone (loop $rowLoop
          (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $nq)))
          (local.set $qRow (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nq)) (local.get $i)) (local.get $channels)) (i32.mul (local.get $h) (local.get $d))) (i32.const 2)))
          (call $splats (i32.add (local.get $q) (local.get $qRow)) (local.get $qs) (local.get $d) (local.get $scale))
          ;; scores: q·scale against every key, channel by channel into the row
          (call $zero (local.get $pRow) (local.get $rowBytes))
          (call $accumulateRows (local.get $pRow) (local.get $kt) (local.get $qs) (local.get $d) (local.get $rowBytes))
          ;; the padding keys out of the max
          (local.set $j (local.get $nk))
          (block $padDone (loop $pad
            (br_if $padDone (i32.ge_u (local.get $j) (local.get $nk4)))
            (f32.store (i32.add (local.get $pRow) (i32.shl (local.get $j) (i32.const 2))) (f32.const -3.4e38))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $pad)))
          (local.set $m (global.get $f_lowest))
          (local.set $jb (i32.const 0))
          (loop $maxLoop
            (local.set $m (f32x4.pmax (local.get $m) (v128.load (i32.add (local.get $pRow) (local.get $jb)))))
            (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
            (br_if $maxLoop (i32.lt_u (local.get $jb) (local.get $rowBytes))))
          (local.set $max (f32.max
            (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
            (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
          (local.set $m (f32x4.splat (local.get $max)))
          (local.set $s (global.get $f_0))
          (local.set $jb (i32.const 0))
          (loop $expLoop
            (local.set $e (call $exp4 (f32x4.sub (v128.load (i32.add (local.get $pRow) (local.get $jb))) (local.get $m))))
            (v128.store (i32.add (local.get $pRow) (local.get $jb)) (local.get $e))
            (local.set $s (f32x4.add (local.get $s) (local.get $e)))
            (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
            (br_if $expLoop (i32.lt_u (local.get $jb) (local.get $rowBytes))))
          ;; the padding's e^(−87) share of the sum is below float32's resolution next to the max's 1
          (local.set $r (f32x4.splat (f32.div (f32.const 1) (call $hsum (local.get $s)))))
          (local.set $jb (i32.const 0))
          (loop $normalize
            (v128.store (i32.add (local.get $pRow) (local.get $jb))
              (f32x4.mul (v128.load (i32.add (local.get $pRow) (local.get $jb))) (local.get $r)))
            (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
            (br_if $normalize (i32.lt_u (local.get $jb) (local.get $rowBytes))))
          (local.set $j (local.get $nk))
          (block $zeroDone (loop $zeroPad
            (br_if $zeroDone (i32.ge_u (local.get $j) (local.get $nk4)))
            (f32.store (i32.add (local.get $pRow) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $zeroPad)))
          ;; out[i, h·d + dd] = P's row · V's column dd
          (call $rowTimesColumns (local.get $pRow) (local.get $vt) (local.get $d) (local.get $rowBytes) (i32.add (local.get $out) (local.get $qRow)) (f32.const 1))
          (local.set $pRow (i32.add (local.get $pRow) (local.get $rowBytes)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $rowLoop)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br_if $headLoop (i32.lt_u (local.get $h) (local.get $heads))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop))))

  ;; The gradient, row by row from the kept P (FlashAttention's backward without the recompute):
  ;;   dP = dO·Vᵀ, D = Σ P⊙dP, dS = P⊙(dP − D), dQ = dS·K·scale, dK += dSᵀ·(q·scale), dV += Pᵀ·dO
  ;; dK and dV accumulate channels-first in scratch and are written back per head.
  ;; Scratch (bytes): Kt, Vt, dKt, dVt (d·nk4 floats each), a row of nk4 floats, 2·d vectors of splats.
  (func (export "attentionBackward") (param $dy i32) (param $q i32) (param $k i32) (param $v i32) (param $p i32)
    (param $dq i32) (param $dk i32) (param $dv i32)
    (param $batch i32) (param $nq i32) (param $nk i32) (param $channels i32) (param $heads i32) (param $scale f32) (param $scratch i32)
    (local $d i32) (local $nk4 i32) (local $rowBytes i32) (local $columnsBytes i32) (local $kt i32) (local $vt i32) (local $dkt i32) (local $dvt i32)
    (local $row i32) (local $qs i32) (local $dos i32)
    (local $b i32) (local $h i32) (local $i i32) (local $dd i32) (local $jb i32)
    (local $pRow i32) (local $qRow i32) (local $headOffset i32) (local $col i32) (local $dcol i32) (local $dvcol i32) (local $vcol i32)
    (local $acc v128) (local $dsum v128) (local $dsplat v128) (local $qsplat v128) (local $osplat v128) (local $ds v128)
    (local.set $d (i32.div_u (local.get $channels) (local.get $heads)))
    (local.set $nk4 (i32.and (i32.add (local.get $nk) (i32.const 3)) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $nk4) (i32.const 2)))
    (local.set $columnsBytes (i32.mul (local.get $d) (local.get $rowBytes)))
    (local.set $kt (local.get $scratch))
    (local.set $vt (i32.add (local.get $kt) (local.get $columnsBytes)))
    (local.set $dkt (i32.add (local.get $vt) (local.get $columnsBytes)))
    (local.set $dvt (i32.add (local.get $dkt) (local.get $columnsBytes)))
    (local.set $row (i32.add (local.get $dvt) (local.get $columnsBytes)))
    (local.set $qs (i32.add (local.get $row) (local.get $rowBytes)))
    (local.set $dos (i32.add (local.get $qs) (i32.shl (local.get $d) (i32.const 4))))
    (local.set $pRow (local.get $p))
    (block $batchDone (loop $batchLoop
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $h (i32.const 0))
      (loop $headLoop
        (local.set $headOffset (i32.shl (i32.add (i32.mul (i32.mul (local.get $b) (local.get $nk)) (local.get $channels)) (i32.mul (local.get $h) (local.get $d))) (i32.const 2)))
        (call $toColumns (i32.add (local.get $k) (local.get $headOffset)) (local.get $kt) (local.get $nk) (local.get $nk4) (local.get $channels) (local.get $d))
        (call $toColumns (i32.add (local.get $v) (local.get $headOffset)) (local.get $vt) (local.get $nk) (local.get $nk4) (local.get $channels) (local.get $d))
        (call $zero (local.get $dkt) (i32.shl (local.get $columnsBytes) (i32.const 1)))
        (local.set $i (i32.const 0))
        (block $rowsDone (loop $rowLoop
          (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $nq)))
          (local.set $qRow (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $nq)) (local.get $i)) (local.get $channels)) (i32.mul (local.get $h) (local.get $d))) (i32.const 2)))
          (call $splats (i32.add (local.get $q) (local.get $qRow)) (local.get $qs) (local.get $d) (local.get $scale))
          (call $splats (i32.add (local.get $dy) (local.get $qRow)) (local.get $dos) (local.get $d) (f32.const 1))
          ;; dP's row, and D = Σ P⊙dP
          (call $zero (local.get $row) (local.get $rowBytes))
          (call $accumulateRows (local.get $row) (local.get $vt) (local.get $dos) (local.get $d) (local.get $rowBytes))
          (local.set $dsum (global.get $f_0))
          (local.set $jb (i32.const 0))
          (loop $dLoop
            (local.set $dsum (f32x4.add (local.get $dsum) (f32x4.mul
              (v128.load (i32.add (local.get $row) (local.get $jb))) (v128.load (i32.add (local.get $pRow) (local.get $jb))))))
            (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
            (br_if $dLoop (i32.lt_u (local.get $jb) (local.get $rowBytes))))
          (local.set $dsplat (f32x4.splat (call $hsum (local.get $dsum))))
          ;; dS = P⊙(dP − D), in place
          (local.set $jb (i32.const 0))
          (loop $dsLoop
            (v128.store (i32.add (local.get $row) (local.get $jb)) (f32x4.mul
              (v128.load (i32.add (local.get $pRow) (local.get $jb)))
              (f32x4.sub (v128.load (i32.add (local.get $row) (local.get $jb))) (local.get $dsplat))))
            (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
            (br_if $dsLoop (i32.lt_u (local.get $jb) (local.get $rowBytes))))
          ;; dQ[i, :] = scale·dS·K; dK += dSᵀ·(q[i]·scale); dV += Pᵀ·dO[i]
          (call $rowTimesColumns (local.get $row) (local.get $kt) (local.get $d) (local.get $rowBytes) (i32.add (local.get $dq) (local.get $qRow)) (local.get $scale))
          (call $addOuter (local.get $dkt) (local.get $qs) (local.get $row) (local.get $d) (local.get $rowBytes))
          (call $addOuter (local.get $dvt) (local.get $dos) (local.get $pRow) (local.get $d) (local.get $rowBytes))
          (local.set $pRow (i32.add (local.get $pRow) (local.get $rowBytes)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $rowLoop)))
        (call $fromColumns (local.get $dkt) (i32.add (local.get $dk) (local.get $headOffset)) (local.get $nk) (local.get $nk4) (local.get $channels) (local.get $d))
        (call $fromColumns (local.get $dvt) (i32.add (local.get $dv) (local.get $headOffset)) (local.get $nk) (local.get $nk4) (local.get $channels) (local.get $d))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br_if $headLoop (i32.lt_u (local.get $h) (local.get $heads))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batchLoop)))))
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
  channelSums(...args: number[]): void;
  normForward(...args: number[]): void;
  normGradSums(...args: number[]): void;
  normGradApply(...args: number[]): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  layerNormForward(...args: number[]): void;
  layerNormGrad(...args: number[]): void;
  geglu(projected: number, out: number, rows: number, features: number): void;
  gegluGrad(dy: number, projected: number, dProjected: number, rows: number, features: number): void;
  softmaxGrad(p: number, dp: number, dx: number, rows: number, cols: number): void;
  columnSums(x: number, out: number, rows: number, cols: number): void;
  attentionForward(...args: number[]): void;
  attentionBackward(...args: number[]): void;
}

/**
 * The normalisation sweeps of group-norm.ts over one sample [positions, channels] (channels a multiple
 * of 4), on views of the heap; per-channel vectors are float32 of length `channels`, sums float64.
 */
export interface NormKernels {
  /** Per-channel Σx and Σx² over the positions. */
  channelSums(x: Float32Array, positions: number, channels: number, sums: Float64Array, squares: Float64Array): void;
  /** out = y or y·σ(y), y = (x − mean)·scale + beta. */
  forward(x: Float32Array, out: Float32Array, positions: number, channels: number, mean: Float32Array, scale: Float32Array, beta: Float32Array, silu: boolean): void;
  /** dx = dy (through SiLU at x̂·γ + β when `silu`), with per-channel Σdy and Σdy·x̂, x̂ = (x − mean)·rstd. */
  gradSums(dOut: Float32Array, x: Float32Array, dx: Float32Array, positions: number, channels: number, mean: Float32Array, rstd: Float32Array, gamma: Float32Array, beta: Float32Array, silu: boolean, dySum: Float64Array, dyXSum: Float64Array): void;
  /** dx = dx·a + x̂·b + k, in place. */
  gradApply(dx: Float32Array, x: Float32Array, positions: number, channels: number, mean: Float32Array, rstd: Float32Array, a: Float32Array, b: Float32Array, k: Float32Array): void;
  /** LayerNorm of `rows` rows of `channels` (a multiple of 4): out, and each row's mean and rstd. */
  layerNormForward(x: Float32Array, out: Float32Array, rows: number, channels: number, gamma: Float32Array, beta: Float32Array, mean: Float32Array, rstd: Float32Array, eps: number): void;
  /** Its gradient: dx, and dγ, dβ summed over the rows into float64 vectors. */
  layerNormGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, rows: number, channels: number, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dGamma: Float64Array, dBeta: Float64Array): void;
}

/** The kernels, bound to one heap. */
export interface SimdKernels {
  /** One AdamW step over equally long views of the heap, written into the three output views. */
  adamW(inputs: [Float32Array, Float32Array, Float32Array, Float32Array], outputs: [Float32Array, Float32Array, Float32Array], scalars: AdamWScalars): void;
  squaredSum(x: Float32Array): number;
  /** Writes the [rows, cols] matrix that starts at `source[start]` transposed at `target[targetStart]`. */
  transpose(source: Float32Array, start: number, rows: number, cols: number, target: Float32Array, targetStart: number): void;
  norm: NormKernels;
  /** hidden·gelu(gate) of rows [hidden | gate] with `features` (a multiple of 4) each. */
  geglu(projected: Float32Array, out: Float32Array, rows: number, features: number): void;
  gegluGrad(dy: Float32Array, projected: Float32Array, dProjected: Float32Array, rows: number, features: number): void;
  /** dx = p·(dp − Σ dp·p) per row of [rows, cols]. */
  softmaxGrad(p: Float32Array, dp: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  /** out[c] = Σ over rows of x[r, c] for a [rows, cols] matrix. */
  columnSums(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  attention: AttentionKernels;
}

/** Attention's shape: q and the output [batch, queries, channels], k and v [batch, keys, channels], `heads` heads. */
export interface AttentionShape {
  batch: number;
  queries: number;
  keys: number;
  channels: number;
  heads: number;
  scale: number;
}

/** Multi-head attention on the [B, N, C] layout, one head at a time, P kept as [B, H, Nq, keys rounded up to 4]. */
export interface AttentionKernels {
  /** `scratch` holds at least `attentionScratchFloats(shape, false)` floats (`true` for `backward`). */
  forward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, p: Float32Array, shape: AttentionShape, scratch: Float32Array): void;
  backward(dy: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, p: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, shape: AttentionShape, scratch: Float32Array): void;
}

/** Keys rounded up to whole vectors of four: the row length of the kept P. */
export const paddedKeys = (keys: number) => (keys + 3) & ~3;

/**
 * Floats of scratch `attentionForward` / `attentionBackward` use (their layouts in the text above): K and
 * V of one head channels-first, d·paddedKeys each (and their gradients backward), a row of paddedKeys
 * backward, and four floats per head channel for each vector of splats (one forward, two backward).
 */
export function attentionScratchFloats({ keys, channels, heads }: AttentionShape, backward: boolean): number {
  const d = channels / heads;
  const columns = d * paddedKeys(keys);
  return backward ? 4 * columns + paddedKeys(keys) + 8 * d : 2 * columns + 4 * d;
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
    transpose: (source, start, rows, cols, target, targetStart) => exports.transpose(source.byteOffset + 4 * start, rows, cols, target.byteOffset + 4 * targetStart),
    norm: {
      channelSums: (x, positions, channels, sums, squares) => exports.channelSums(x.byteOffset, positions, channels, sums.byteOffset, squares.byteOffset),
      forward: (x, out, positions, channels, mean, scale, beta, silu) =>
        exports.normForward(x.byteOffset, out.byteOffset, positions, channels, mean.byteOffset, scale.byteOffset, beta.byteOffset, silu ? 1 : 0),
      gradSums: (dOut, x, dx, positions, channels, mean, rstd, gamma, beta, silu, dySum, dyXSum) =>
        exports.normGradSums(dOut.byteOffset, x.byteOffset, dx.byteOffset, positions, channels, mean.byteOffset, rstd.byteOffset, gamma.byteOffset, beta.byteOffset, silu ? 1 : 0, dySum.byteOffset, dyXSum.byteOffset),
      gradApply: (dx, x, positions, channels, mean, rstd, a, b, k) =>
        exports.normGradApply(dx.byteOffset, x.byteOffset, positions, channels, mean.byteOffset, rstd.byteOffset, a.byteOffset, b.byteOffset, k.byteOffset),
      layerNormForward: (x, out, rows, channels, gamma, beta, mean, rstd, eps) =>
        exports.layerNormForward(x.byteOffset, out.byteOffset, rows, channels, gamma.byteOffset, beta.byteOffset, mean.byteOffset, rstd.byteOffset, eps),
      layerNormGrad: (dy, x, dx, rows, channels, gamma, mean, rstd, dGamma, dBeta) =>
        exports.layerNormGrad(dy.byteOffset, x.byteOffset, dx.byteOffset, rows, channels, gamma.byteOffset, mean.byteOffset, rstd.byteOffset, dGamma.byteOffset, dBeta.byteOffset),
    },
    geglu: (projected, out, rows, features) => exports.geglu(projected.byteOffset, out.byteOffset, rows, features),
    gegluGrad: (dy, projected, dProjected, rows, features) => exports.gegluGrad(dy.byteOffset, projected.byteOffset, dProjected.byteOffset, rows, features),
    softmaxGrad: (p, dp, dx, rows, cols) => exports.softmaxGrad(p.byteOffset, dp.byteOffset, dx.byteOffset, rows, cols),
    columnSums: (x, out, rows, cols) => exports.columnSums(x.byteOffset, out.byteOffset, rows, cols),
    attention: {
      forward: (q, k, v, out, p, { batch, queries, keys, channels, heads, scale }, scratch) =>
        exports.attentionForward(q.byteOffset, k.byteOffset, v.byteOffset, out.byteOffset, p.byteOffset, batch, queries, keys, channels, heads, scale, scratch.byteOffset),
      backward: (dy, q, k, v, p, dq, dk, dv, { batch, queries, keys, channels, heads, scale }, scratch) =>
        exports.attentionBackward(dy.byteOffset, q.byteOffset, k.byteOffset, v.byteOffset, p.byteOffset, dq.byteOffset, dk.byteOffset, dv.byteOffset,
          batch, queries, keys, channels, heads, scale, scratch.byteOffset),
    },
  };
  attached = { memory, kernels };
  return kernels;
}

/** Whether the kernels run on the current backend's tensors (the wasm backend, its heap attached, `wasmSimd` on). */
export function simdKernelsOnBackend(): boolean {
  return attached != null && switchOn("wasmSimd") && tf.getBackend() === "wasm";
}

/** The kernels when they may run on every one of `views` (all on the attached heap, `wasmSimd` on); else null. */
export function simdKernelsFor(...views: Array<Float32Array | Float64Array>): SimdKernels | null {
  if (!attached || !switchOn("wasmSimd")) return null;
  const heap = attached.memory.buffer;
  return views.every((view) => view.buffer === heap) ? attached.kernels : null;
}
