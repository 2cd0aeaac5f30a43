/**
 * Benchmark of the model core (`npm run bench:model`): forward and training-step time of UNets on the
 * wasm and cpu backends, with the achieved GFLOP/s next to what a plain tf.matMul reaches on the same
 * backend in the same run — the ceiling a network made of convolutions and matrix products could hope
 * for. FLOPs are counted from the kernels a run actually executes (tf.profile): 2·MACs of every
 * convolution, convolution gradient and matrix product; element-wise work is not counted, so the
 * GFLOP/s shown is a lower bound on useful arithmetic. Rates use this process's CPU time, which a
 * busy shared machine inflates far less than wall time (both are printed). Prints one markdown table.
 *
 * Environment: BENCH_BACKENDS (default "wasm,cpu"), BENCH_CONFIGS (default "toy-conv,tiny,small"),
 * BENCH_REPEATS (timed runs per cell after one warm-up; default 3 on wasm, 1 on cpu), and
 * BENCH_CPU_SMALL_STEP=1 to include the small UNet's training step on cpu (skipped by default: the cpu
 * backend's convolution gradients run at ~0.01 GFLOP/s, so it would take hours).
 */
import * as tf from "@tensorflow/tfjs-core";
import { cpus, loadavg } from "node:os";
import type { UNetConfig } from "../src/model/config.js";
import { setTrainable } from "../src/model/params.js";
import { smallUNetConfig, tinyUNetConfig } from "../src/model/tiny.js";
import { UNet2DConditionModel } from "../src/model/unet.js";
import { initTensorBackend, registerTrainingKernels } from "../src/tensor/backend.js";
import { Random } from "../src/tensor/random.js";

/** A differentiable workload: its trainable variables and a loss over fixed inputs. */
interface Workload {
  name: string;
  parameters: number;
  forward: () => tf.Tensor;
  loss: () => tf.Scalar;
  variables: tf.Variable[];
  dispose: () => void;
}

function unetWorkload(name: string, config: UNetConfig, batch: number, contextLength: number): Workload {
  const unet = new UNet2DConditionModel(config, { kind: "random", seed: 1 });
  setTrainable(unet.params, true);
  const random = new Random(7);
  const size = config.sample_size;
  const sample = random.normal<tf.Rank.R4>([batch, size, size, config.in_channels]);
  const target = random.normal<tf.Rank.R4>([batch, size, size, config.out_channels]);
  const context = random.normal<tf.Rank.R3>([batch, contextLength, config.cross_attention_dim]);
  const timesteps = tf.tensor1d(Array.from({ length: batch }, (_, i) => 100 + 400 * i));
  const forward = () => unet.forward(sample, timesteps, context);
  return {
    name: `${name} UNet, batch ${batch}, ${size}×${size} latents`,
    parameters: unet.params.parameterCount,
    forward,
    loss: () => tf.mean(tf.squaredDifference(forward(), target)),
    variables: unet.params.variables,
    dispose: () => {
      unet.params.dispose();
      tf.dispose([sample, target, context, timesteps]);
    },
  };
}

/** Four 3×3 convolutions at 64 channels on 32×32, batch 2: where convolution gradients dominate. */
function toyConvWorkload(): Workload {
  const random = new Random(3);
  const filters = Array.from({ length: 4 }, () => tf.variable(tf.mul(random.normal<tf.Rank.R4>([3, 3, 64, 64]), 0.05), true));
  const input = random.normal<tf.Rank.R4>([2, 32, 32, 64]);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const forward = () => filters.reduce((x: tf.Tensor4D, w) => tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, pad)), input);
  return {
    name: "toy conv net (4× conv3×3, 64 ch), batch 2, 32×32",
    parameters: filters.reduce((total, w) => total + w.size, 0),
    forward,
    loss: () => tf.mean(tf.square(forward())),
    variables: filters,
    dispose: () => tf.dispose([...filters, input]),
  };
}

const WORKLOADS: Record<string, () => Workload> = {
  "toy-conv": toyConvWorkload,
  tiny: () => unetWorkload("tiny", tinyUNetConfig, 2, 77),
  small: () => unetWorkload("small", smallUNetConfig, 2, 77),
};

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** 2·MACs of the convolutions and matrix products a profiled run executed. */
function countFlops(kernels: Array<{ name: string; inputShapes: number[][]; outputShapes: number[][] }>): number {
  let flops = 0;
  for (const { name, inputShapes, outputShapes } of kernels) {
    const out = outputShapes[0] ?? [];
    if (name === "Conv2D" || name === "FusedConv2D") {
      const [kh, kw, cin] = inputShapes[1];
      flops += 2 * size(out) * kh * kw * cin;
    } else if (name === "Conv2DBackpropInput") {
      const [kh, kw, cin] = inputShapes[1];
      flops += 2 * size(inputShapes[0]) * kh * kw * cin;
    } else if (name === "Conv2DBackpropFilter") {
      const [kh, kw, cin] = out;
      flops += 2 * size(inputShapes[1]) * kh * kw * cin;
    } else if (name === "BatchMatMul" || name === "_FusedMatMul") {
      const inner = (size(inputShapes[0]) * out[out.length - 1]) / size(out);
      flops += 2 * size(out) * inner;
    }
  }
  return flops;
}

function trainingStep(workload: Workload): void {
  const { value, grads } = tf.variableGrads(workload.loss, workload.variables);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

async function profiledFlops(run: () => void): Promise<number> {
  const profile = await tf.profile(() => {
    run();
    return [];
  });
  return countFlops(profile.kernels);
}

interface Timing {
  wallMs: number;
  /** CPU time of this process: the honest measure on a shared machine (wasm runs on one thread). */
  cpuMs: number;
}

function time(run: () => void, repeats: number, warmUp = true): Timing {
  if (warmUp) run();
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < repeats; i++) run();
  const cpu = process.cpuUsage(cpuStart);
  return { wallMs: (performance.now() - wallStart) / repeats, cpuMs: (cpu.user + cpu.system) / 1000 / repeats };
}

/** GFLOP/s of a plain float32 matMul [m, k]·[k, n] (operands created once, product read back). */
function matMulGflops(m: number, k: number, n: number, repeats: number): number {
  const a = tf.randomNormal([m, k]) as tf.Tensor2D;
  const b = tf.randomNormal([k, n]) as tf.Tensor2D;
  const { cpuMs } = time(() => tf.matMul(a, b).dispose(), repeats);
  tf.dispose([a, b]);
  return (2 * m * k * n) / cpuMs / 1e6;
}

interface Row {
  workload: string;
  parameters: number;
  backend: string;
  forward: Timing;
  forwardGflop: number;
  step: Timing | null;
  stepGflop: number;
  matMulGflops: number;
}

async function main(): Promise<void> {
  const backends = (process.env.BENCH_BACKENDS ?? "wasm,cpu").split(",");
  const names = (process.env.BENCH_CONFIGS ?? "toy-conv,tiny,small").split(",");
  await initTensorBackend({ requested: "wasm" });
  registerTrainingKernels();
  const flops = new Map<string, { forward: number; step: number }>();
  const rows: Row[] = [];
  for (const backend of backends) {
    await tf.setBackend(backend);
    const repeats = Number(process.env.BENCH_REPEATS ?? (backend === "cpu" ? 1 : 3));
    const reference = backend === "cpu" ? matMulGflops(256, 256, 256, 2) : matMulGflops(1024, 1024, 1024, 3);
    for (const name of names) {
      const make = WORKLOADS[name];
      if (!make) throw new Error(`unknown BENCH_CONFIGS entry ${name} (known: ${Object.keys(WORKLOADS).join(", ")})`);
      const workload = make();
      const tensorsBefore = tf.memory().numTensors;
      const skipStep = backend === "cpu" && name === "small" && process.env.BENCH_CPU_SMALL_STEP !== "1";
      // FLOPs do not depend on the backend: counted once per workload (a profiled run each).
      const counted = flops.get(name) ?? { forward: await profiledFlops(() => tf.tidy(() => void workload.forward().dataSync())), step: Number.NaN };
      if (!skipStep && Number.isNaN(counted.step)) counted.step = await profiledFlops(() => trainingStep(workload));
      flops.set(name, counted);
      // The cpu backend has no kernels to set up, and its runs are long: no warm-up run there.
      const warmUp = backend !== "cpu";
      const forward = time(() => tf.tidy(() => void workload.forward().dataSync()), repeats, warmUp);
      const step = skipStep ? null : time(() => trainingStep(workload), repeats, warmUp);
      if (tf.memory().numTensors !== tensorsBefore) throw new Error(`${name} on ${backend} leaked ${tf.memory().numTensors - tensorsBefore} tensors`);
      rows.push({ workload: workload.name, parameters: workload.parameters, backend, forward, forwardGflop: counted.forward / 1e9, step, stepGflop: counted.step / 1e9, matMulGflops: reference });
      console.error(`${backend} ${name}: forward ${forward.cpuMs.toFixed(0)} CPU ms, step ${step ? step.cpuMs.toFixed(0) : "skipped"} CPU ms`);
      workload.dispose();
    }
  }
  console.log("| workload | params | backend | forward CPU ms (wall) | forward GFLOP/s | train step CPU ms (wall) | train step GFLOP/s | plain matMul GFLOP/s |");
  console.log("|---|---:|---|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const ms = (timing: Timing | null) => (timing ? `${timing.cpuMs.toFixed(0)} (${timing.wallMs.toFixed(0)})` : "skipped");
    const rate = (gflop: number, timing: Timing | null) => (timing ? `${(gflop / (timing.cpuMs / 1000)).toFixed(2)} of ${gflop.toFixed(2)} GFLOP` : "—");
    console.log(
      `| ${row.workload} | ${(row.parameters / 1e6).toFixed(2)} M | ${row.backend} | ${ms(row.forward)} | ${rate(row.forwardGflop, row.forward)} | ${ms(row.step)} | ${rate(row.stepGflop, row.step)} | ${row.matMulGflops.toFixed(2)} |`,
    );
  }
  console.log(
    `\nGFLOP/s = counted conv/matMul FLOPs per CPU second. Plain matMul: 1024³ on wasm, 256³ on cpu. Load average at the end: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
  );
}

await main();
