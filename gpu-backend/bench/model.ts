/**
 * Benchmark of the model core on wasm (`npm run bench:model`): the training step (gradients and AdamW) of the tiny UNet and of
 * a ~20 M-parameter UNet with every speed switch on, with all off (the baseline) and with each one off
 * in turn (its A/B ratio), with GFLOP/s next to what a plain tf.matMul reaches in the same run — the
 * ceiling for a network of convolutions and matrix products — and where the step's time goes by kernel
 * family (tf.profile). Then the data-parallel trainer's samples/s with one and two replicas, and the
 * per-image time of a 20-step DDIM render of the embedded model. FLOPs are counted from the kernels a
 * run executes: 2·MACs of every convolution, convolution gradient and matrix product (element-wise work
 * is not counted, so GFLOP/s is a lower bound on useful arithmetic). Single-thread rates use this
 * process's CPU time (wall time is printed beside it); run it with the machine to itself. Prints
 * markdown tables and writes bench-out/model.json.
 *
 * Every switch configuration is warmed up, then all are timed in rounds of one step each, in an order
 * that rotates every round, and each reports its median: timed one after the other, the first ones
 * ran colder and every later configuration looked faster.
 *
 * Environment: BENCH_CONFIGS (default "tiny,small"; also "toy-conv"), BENCH_REPEATS (timed rounds after
 * the warm-up; default 15 for the sub-second steps, 7 for the small UNet's), BENCH_WORKER_STEPS (default
 * 8, even), BENCH_IMAGES (default 3).
 */
import * as tf from "@tensorflow/tfjs-core";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import type { UNetConfig } from "../src/model/config.js";
import { setTrainable } from "../src/model/params.js";
import { smallUNetConfig, tinyUNetConfig } from "../src/model/tiny.js";
import { UNet2DConditionModel } from "../src/model/unet.js";
import { adamWStep, clipScale, createAdamWState, DEFAULT_ADAMW, gradientNorm, type AdamWState } from "../src/dreambooth/optimizer.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { Random } from "../src/tensor/random.js";
import { setSpeedSwitches, SPEED_SWITCH_NAMES, type SpeedSwitch } from "../src/tensor/speed-switches.js";
import { generateMsPerImage } from "./model/generate.js";
import { FAMILIES, FAMILY_LABELS, kernelFamily, profileByFamily, type StepProfile } from "./model/kernel-families.js";
import { trainerSamplesPerSecond } from "./model/workers.js";
import { SINGLE_THREADED_GC, singleThreadedGc } from "../src/dreambooth/replica-pool.js";

/** A workload's optimizer: its parameters by name and AdamW's moments. */
interface Optimizer {
  parameters: Map<string, tf.Variable>;
  state: AdamWState;
}

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

const BATCH = 2;
const WORKLOADS: Record<string, () => Workload> = {
  "toy-conv": toyConvWorkload,
  tiny: () => unetWorkload("tiny", tinyUNetConfig, BATCH, 77),
  small: () => unetWorkload("small", smallUNetConfig, BATCH, 77),
};

/**
 * Timed rounds by default. A median of five single steps of ~150 ms moved by ± 10 % between runs on a
 * shared 2-core machine (the tiny step's baseline ÷ all on read 1.89, 2.16 and 2.32 in three runs of
 * one build); those steps are cheap, so they get three times the rounds. The small UNet's take seconds
 * and swing as much (2.76–3.40 s for one build in separate processes): seven rounds (~1.2 min each).
 */
const DEFAULT_REPEATS: Record<string, number> = { "toy-conv": 15, tiny: 15, small: 7 };

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Untimed steps of every switch configuration before any is timed. */
const WARM_UP_STEPS = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

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

/** One whole training step: loss, gradients, the global gradient norm and AdamW (as the trainer takes it). */
function trainingStep(workload: Workload, optimizer: Optimizer): void {
  const { value, grads } = tf.variableGrads(workload.loss, workload.variables);
  value.dataSync();
  const gradients = new Map(workload.variables.map((variable) => [variable.name, grads[variable.name]]));
  adamWStep(optimizer.parameters, gradients, optimizer.state, 1e-5, DEFAULT_ADAMW, clipScale(gradientNorm(gradients), 1));
  tf.dispose([value, ...Object.values(grads)]);
}

async function profiled(run: () => void): Promise<{ flops: number; kernels: Array<{ name: string; kernelTimeMs: number }> }> {
  const profile = await tf.profile(() => {
    run();
    return [];
  });
  return { flops: countFlops(profile.kernels), kernels: profile.kernels.map(({ name, kernelTimeMs }) => ({ name, kernelTimeMs: Number(kernelTimeMs) })) };
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

/**
 * GFLOP/s of a plain float32 matMul [m, k]·[k, n] (operands created once): the median of `repeats`
 * products after 5 untimed ones. Measured before and after the workloads; the higher is the ceiling the
 * shares are taken of (a low reading would flatter them).
 */
function matMulGflops(m: number, k: number, n: number, repeats: number): number {
  const a = tf.randomNormal([m, k]) as tf.Tensor2D;
  const b = tf.randomNormal([k, n]) as tf.Tensor2D;
  for (let i = 0; i < 5; i++) tf.matMul(a, b).dispose();
  const rates = Array.from({ length: repeats }, () => (2 * m * k * n) / time(() => tf.matMul(a, b).dispose(), 1, false).cpuMs / 1e6);
  tf.dispose([a, b]);
  return median(rates);
}

interface WorkloadResult {
  name: string;
  title: string;
  parameters: number;
  gflop: number;
  on: Timing;
  off: Timing;
  /** Step CPU ms with one switch off (the rest on). */
  without: Partial<Record<SpeedSwitch, number>>;
  profileOn: StepProfile;
  profileOff: StepProfile;
}

const allSwitches = (on: boolean) => Object.fromEntries(SPEED_SWITCH_NAMES.map((name) => [name, on]));

async function measureWorkload(name: string, repeats: number): Promise<WorkloadResult> {
  const make = WORKLOADS[name];
  if (!make) throw new Error(`unknown BENCH_CONFIGS entry ${name} (known: ${Object.keys(WORKLOADS).join(", ")})`);
  const workload = make();
  const parameters = new Map(workload.variables.map((variable) => [variable.name, variable]));
  const optimizer = { parameters, state: createAdamWState(parameters) };
  const tensorsBefore = tf.memory().numTensors;
  const step = () => trainingStep(workload, optimizer);
  // Every configuration is warmed up first and then timed in rounds, one step each after an untimed one,
  // the order rotating every round, and each gets the median of its rounds: timed one after the other, whichever came first
  // ran colder (the JavaScript kernels were not yet optimised) and every later one looked 20–30 % faster.
  const configurations: Array<{ key: "off" | "on" | SpeedSwitch; switches: Record<string, boolean> }> = [
    { key: "off", switches: allSwitches(false) },
    { key: "on", switches: allSwitches(true) },
    ...SPEED_SWITCH_NAMES.map((name) => ({ key: name, switches: { ...allSwitches(true), [name]: false } })),
  ];
  for (const { switches } of configurations) {
    setSpeedSwitches(switches);
    for (let i = 0; i < WARM_UP_STEPS; i++) step();
  }
  const samples = new Map(configurations.map(({ key }) => [key, [] as Timing[]]));
  for (let round = 0; round < repeats; round++) {
    for (let i = 0; i < configurations.length; i++) {
      const { key, switches } = configurations[(i + round) % configurations.length];
      setSpeedSwitches(switches);
      samples.get(key)!.push(time(step, 1));
    }
  }
  const medianTiming = (key: "off" | "on" | SpeedSwitch): Timing => ({
    wallMs: median(samples.get(key)!.map((timing) => timing.wallMs)),
    cpuMs: median(samples.get(key)!.map((timing) => timing.cpuMs)),
  });
  const measure = async (key: "off" | "on") => {
    setSpeedSwitches(configurations.find((configuration) => configuration.key === key)!.switches);
    const timing = medianTiming(key);
    const { kernels, flops } = await profiled(step);
    // Shares of the timed step (the profiled one pays tf.profile's own work between kernels), or of the
    // profiled kernels' sum where a drifting machine made that larger, so they never add up past 100 %.
    const kernelMs = kernels.reduce((sum, { name, kernelTimeMs }) => sum + (kernelFamily(name) ? kernelTimeMs : 0), 0);
    return { timing, profile: profileByFamily(kernels, Math.max(timing.cpuMs, kernelMs)), flops };
  };
  const off = await measure("off");
  const on = await measure("on");
  const without: WorkloadResult["without"] = {};
  for (const name of SPEED_SWITCH_NAMES) without[name] = medianTiming(name).cpuMs;
  setSpeedSwitches(allSwitches(true));
  if (tf.memory().numTensors !== tensorsBefore) throw new Error(`${name} leaked ${tf.memory().numTensors - tensorsBefore} tensors`);
  workload.dispose();
  tf.dispose([...optimizer.state.firstMoment.values(), ...optimizer.state.secondMoment.values()]);
  console.error(`${name}: step ${on.timing.cpuMs.toFixed(0)} CPU ms, baseline ${off.timing.cpuMs.toFixed(0)}`);
  return { name, title: workload.name, parameters: workload.parameters, gflop: on.flops / 1e9, on: on.timing, off: off.timing, without, profileOn: on.profile, profileOff: off.profile };
}

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)} %`;

function printWorkloads(results: WorkloadResult[], matMul: number): void {
  console.log("| workload | params | switches | train step CPU ms (wall) | per sample ms | GFLOP/s | of plain matMul |");
  console.log("|---|---:|---|---:|---:|---:|---:|");
  for (const result of results) {
    for (const [label, timing] of [["all on", result.on], ["all off (baseline)", result.off]] as const) {
      const gflops = result.gflop / (timing.cpuMs / 1000);
      console.log(
        `| ${result.title} | ${(result.parameters / 1e6).toFixed(2)} M | ${label} | ${timing.cpuMs.toFixed(0)} (${timing.wallMs.toFixed(0)}) | ${(timing.cpuMs / BATCH).toFixed(0)} | ${gflops.toFixed(2)} | ${percent(gflops, matMul)} |`,
      );
    }
  }
  console.log(`\nA/B: step CPU ms with one switch off ÷ all on (> 1: the switch helps). Baseline ÷ all on last.\n`);
  console.log(`| switch | ${results.map((result) => result.name).join(" | ")} |`);
  console.log(`|---|${results.map(() => "---:").join("|")}|`);
  for (const name of SPEED_SWITCH_NAMES) console.log(`| ${name} | ${results.map((result) => (result.without[name]! / result.on.cpuMs).toFixed(2)).join(" | ")} |`);
  console.log(`| all (baseline ÷ on) | ${results.map((result) => (result.off.cpuMs / result.on.cpuMs).toFixed(2)).join(" | ")} |`);
  console.log(`\nProfile (tf.profile kernel time, one step at batch ${BATCH}; shares of the step's CPU ms, baseline → all on):\n`);
  const heading = results.map((result) => `${result.name} (${result.profileOff.stepMs.toFixed(0)} → ${result.profileOn.stepMs.toFixed(0)} ms, ${result.profileOff.kernels} → ${result.profileOn.kernels} kernels)`);
  console.log(`| kernel family | ${heading.join(" | ")} |`);
  console.log(`|---|${results.map(() => "---").join("|")}|`);
  for (const family of FAMILIES) {
    const cells = results.map(({ profileOff, profileOn }) => `${percent(profileOff.ms[family], profileOff.stepMs)} → ${percent(profileOn.ms[family], profileOn.stepMs)}`);
    console.log(`| ${FAMILY_LABELS[family]} | ${cells.join(" | ")} |`);
  }
}

/**
 * Rounds of the replica comparison. On this 2-vCPU host one round's 2-vs-1 ratio ranged × 1.35–1.86 from
 * run to run at the same settings; a median of five moves less than one of three, for ~20 s a round.
 */
const WORKER_ROUNDS = 5;

async function main(): Promise<void> {
  const names = (process.env.BENCH_CONFIGS ?? "tiny,small").split(",");
  const repeatsFor = (name: string) => Number(process.env.BENCH_REPEATS ?? DEFAULT_REPEATS[name] ?? 5);
  await initTensorBackend({ requested: "wasm" });
  const matMulBefore = matMulGflops(1024, 1024, 1024, 7);
  const results: WorkloadResult[] = [];
  for (const name of names) results.push(await measureWorkload(name, repeatsFor(name)));
  const matMulAfter = matMulGflops(1024, 1024, 1024, 7);
  const matMul = Math.max(matMulBefore, matMulAfter);
  const workerSteps = Number(process.env.BENCH_WORKER_STEPS ?? 8);
  const loadBefore = loadavg()[0];
  // Alternating rounds, each configuration's median: one replica at 4 + 4 examples a step; two replicas at
  // the same global batch (2 + 2 each: what TRAIN_WORKERS=2 does to a job); two at the same batch per
  // replica (8 + 8 a step, 4 + 4 each: what two cores add when the batch grows with them).
  const rounds: Array<[number, number, number]> = [];
  for (let round = 0; round < WORKER_ROUNDS; round++) {
    rounds.push([trainerSamplesPerSecond(1, workerSteps, 4), trainerSamplesPerSecond(2, workerSteps, 4), trainerSamplesPerSecond(2, workerSteps / 2, 8)]);
  }
  const [one, two, twoWeak] = [0, 1, 2].map((i) => median(rounds.map((round) => round[i])));
  const loadAfterWorkers = loadavg()[0];
  const gcSingleThreaded = singleThreadedGc();
  console.error(`workers: ${one.toFixed(1)} → ${two.toFixed(1)} samples/s (${twoWeak.toFixed(1)} at the same batch per replica)`);
  const images = Number(process.env.BENCH_IMAGES ?? 3);
  setSpeedSwitches(allSwitches(false));
  const generateBaseline = await generateMsPerImage(images);
  setSpeedSwitches(allSwitches(true));
  const generateMs = await generateMsPerImage(images);

  console.log(`Plain matMul 1024³ on wasm: ${matMul.toFixed(1)} GFLOP/s (CPU time; ${matMulBefore.toFixed(1)} before the workloads, ${matMulAfter.toFixed(1)} after).\n`);
  printWorkloads(results, matMul);
  console.log(
    `\nData-parallel DreamBooth trainer (tiny UNet, full fine-tune, wall time, median of ${WORKER_ROUNDS} alternating rounds): 1 replica at 4 + 4 examples a step ${one.toFixed(1)} samples/s; ` +
      `2 replicas at the same global batch ${two.toFixed(1)} samples/s (× ${(two / one).toFixed(2)}); 2 replicas at the same batch per replica (8 + 8 a step) ${twoWeak.toFixed(1)} samples/s (× ${(twoWeak / one).toFixed(2)}); ` +
      `load average ${loadBefore.toFixed(2)} before, ${loadAfterWorkers.toFixed(2)} after, on ${cpus().length} cores; V8 GC ${gcSingleThreaded ? "single-threaded" : `parallel (run with ${SINGLE_THREADED_GC} as npm run bench:model does)`}.`,
  );
  console.log(`20-step DDIM render of tiny-emoji (guidance 7.5): ${generateMs.toFixed(0)} ms per image (all switches off: ${generateBaseline.toFixed(0)} ms).`);
  console.log(`Load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(", ")} on ${cpus().length} cores.`);

  const report = {
    matmul_gflops: matMul,
    workloads: results
      .filter((result) => result.name === "tiny" || result.name === "small")
      .map((result) => ({
        name: result.name,
        batch: BATCH,
        step_ms: result.on.cpuMs,
        step_ms_baseline: result.off.cpuMs,
        gflops: result.gflop / (result.on.cpuMs / 1000),
        per_sample_ms: result.on.cpuMs / BATCH,
      })),
    workers: { "1": { samples_per_s: one }, "2": { samples_per_s: two, samples_per_s_same_batch_per_replica: twoWeak } },
    single_threaded_gc: gcSingleThreaded,
    generate_ms_per_image: generateMs,
  };
  await mkdir("bench-out", { recursive: true });
  await writeFile("bench-out/model.json", `${JSON.stringify(report, null, 2)}\n`);
  console.error("wrote bench-out/model.json");
}

await main();
