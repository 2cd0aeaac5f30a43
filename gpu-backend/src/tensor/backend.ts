/**
 * Chooses and starts the tfjs backend everything in the GPU backend computes on. One code path runs
 * everywhere: `tensorflow` (libtensorflow through tfjs-node-gpu, on a GPU host where that package is
 * installed), `wasm` (XNNPACK, SIMD, one thread — how training runs on a CPU-only machine) and `cpu`
 * (plain JavaScript, the slow reference). `TFJS_BACKEND` names one of them; unset, the first that
 * starts in that order wins. The choice is logged once. Starting also registers every tfjs-core
 * gradient (tfjs-core's own Node build registers none; the `@tensorflow/tfjs` Node bundle does) and
 * the wasm convolution gradients from `conv-gradients.ts`, without which wasm cannot train.
 */
import * as tf from "@tensorflow/tfjs-core";
import v8 from "node:v8";
import "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerAttentionKernels } from "./attention.js";
import { registerWasmConvGradients } from "./conv-gradients.js";
import { registerGegluKernels } from "./geglu.js";
import { registerNormKernels } from "./group-norm.js";
import { installLightSaves } from "./light-saves.js";
import { registerNoCopyKernels } from "./no-copy.js";
import { registerMissingWasmKernels } from "./wasm-kernels.js";
import { registerWasmBatchMatMul } from "./wasm-matmul.js";
import { registerWasmSum } from "./wasm-reduce.js";
import { attachSimdKernels } from "./wasm-simd.js";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export const TENSOR_BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
export type TensorBackendName = (typeof TENSOR_BACKENDS)[number];

/** Packages that register tfjs' `tensorflow` backend, tried in order; neither installs without libtensorflow. */
const TENSORFLOW_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

/** The backends to try, in order, for a `TFJS_BACKEND` value; an explicit name is the only candidate. */
export function backendCandidates(requested: string | undefined): TensorBackendName[] {
  const name = requested?.trim().toLowerCase();
  if (!name) return [...TENSOR_BACKENDS];
  const known = TENSOR_BACKENDS.find((backend) => backend === name);
  if (known == null) throw new Error(`TFJS_BACKEND=${requested} is not one of ${TENSOR_BACKENDS.join(", ")}`);
  return [known];
}

/** Makes every backend in this process able to train: all gradients plus the wasm kernel fixes. */
export function registerTrainingKernels(): void {
  registerWasmConvGradients();
  registerWasmBatchMatMul();
  registerWasmSum();
  registerMissingWasmKernels();
  registerNoCopyKernels();
  installLightSaves();
  registerNormKernels();
  registerGegluKernels();
  registerAttentionKernels();
}

async function loadTensorflowBinding(): Promise<string | null> {
  for (const specifier of TENSORFLOW_PACKAGES) {
    try {
      await import(/* @vite-ignore */ specifier);
      return specifier;
    } catch {
      // Not installed here: the next package, then the next backend.
    }
  }
  return null;
}

/**
 * V8 compiles WebAssembly with its baseline compiler first and recompiles a function optimised once it
 * has run hot for a while: XNNPACK's matrix kernels ran at 21 GFLOP/s for the first ~2.5 s (25 products
 * of 1024³) and at 26 after. Short runs — a test, a sampling request, a job's first steps — spent most of
 * their time there. Compiling optimised from the start costs ~150 ms once, when the backend starts.
 */
function compileWasmOptimized(): void {
  v8.setFlagsFromString("--no-liftoff");
}

/**
 * A training step on wasm runs thousands of small kernels through tfjs' engine, whose JavaScript V8
 * never stops re-optimising: each step a few "wrong map" deoptimisations at polymorphic sites (shape
 * arrays of different element kinds, tensors and variables, kernel outputs) sent ~15 large functions
 * back to TurboFan, which inlined their callees again each time. That cost ~60 ms of background CPU per
 * step of the tiny UNet (~230 ms wall) — a core's worth that a second training replica needs. Without
 * inlining the recompiles are small: over 9 alternating runs of 20 steps the step's CPU time fell from
 * a median of 297 to 245 ms and its wall time from 228 to 216 ms; the small UNet's step, made of large
 * kernels, did not change. The hot loops are WebAssembly, which this flag does not touch.
 */
function compileJavaScriptWithoutInlining(): void {
  v8.setFlagsFromString("--no-turbo-inlining");
}

async function start(candidate: TensorBackendName): Promise<string | null> {
  if (candidate === "tensorflow") {
    const binding = await loadTensorflowBinding();
    if (binding == null) return null;
    return (await tf.setBackend("tensorflow")) ? `tensorflow via ${binding}` : null;
  }
  if (candidate === "wasm") {
    compileWasmOptimized();
    compileJavaScriptWithoutInlining();
  }
  if (!(await tf.setBackend(candidate))) return null;
  // The SIMD loops run on the wasm heap itself (wasm-simd.ts).
  // Emscripten keeps the module's exports, the memory among them, on `asm`; tfjs' typings leave it out.
  if (candidate === "wasm") await attachSimdKernels(((tf.backend() as BackendWasm).wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory);
  return candidate;
}

export interface TensorBackendOptions {
  /** `TFJS_BACKEND`'s value; defaults to the process environment. */
  requested?: string;
  log?: (line: string) => void;
}

let started: Promise<TensorBackendName> | null = null;

/**
 * Starts the backend once per process and resolves to its name; later calls return the same
 * promise. An explicitly requested backend that cannot start is an error, never a silent fallback.
 */
export function initTensorBackend(options: TensorBackendOptions = {}): Promise<TensorBackendName> {
  started ??= (async () => {
    const log = options.log ?? ((line: string) => console.log(line));
    const requested = options.requested ?? process.env.TFJS_BACKEND;
    registerTrainingKernels();
    for (const candidate of backendCandidates(requested)) {
      const description = await start(candidate);
      if (description != null) {
        await tf.ready();
        log(`tfjs backend: ${description}${requested ? " (TFJS_BACKEND)" : ""}`);
        return candidate;
      }
    }
    started = null;
    throw new Error(`no tfjs backend could start (tried ${backendCandidates(requested).join(", ")})`);
  })();
  return started;
}
