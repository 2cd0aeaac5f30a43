/**
 * What gradient checkpointing and chunked attention buy (`npm run bench:memory`): one LoRA training step
 * (batch 2 = an instance and a class example, 77 text tokens) of UNets that fit here, with each option
 * off and on, measuring in one run the peak tensor memory (distinct buffers, and as tfjs counts it),
 * the step time, and how far loss and gradients move from the plain path; beside each peak, what the
 * memory plan (src/model/memory-plan.ts) predicts for the activations. Prints a markdown table.
 *
 * Environment: TFJS_BACKEND (default wasm), BENCH_REPEATS (timed steps after a warm-up, default 2),
 * BENCH_CASES (default "tiny:32,small:32,small:64": network:latent side), BENCH_CHUNK (default 256).
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadavg } from "node:os";
import { createLora, LORA_TARGETS, loraVariables } from "../src/model/lora.js";
import { activationBytes } from "../src/model/memory-plan.js";
import { unetForwardCosts } from "../src/model/unet-costs.js";
import { smallUNetConfig, tinyUNetConfig } from "../src/model/tiny.js";
import { UNet2DConditionModel, type UNetMemoryOptions } from "../src/model/unet.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { watchTensorMemory } from "../src/tensor/memory-watch.js";
import { Random } from "../src/tensor/random.js";

const NETWORKS = { tiny: tinyUNetConfig, small: smallUNetConfig } as const;
const RANK = 4;
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const chunk = Number(process.env.BENCH_CHUNK ?? 256);
const cases = (process.env.BENCH_CASES ?? "tiny:32,small:32,small:64").split(",").map((entry) => {
  const [network, side] = entry.split(":");
  return { network: network as keyof typeof NETWORKS, side: Number(side) };
});

const backend = await initTensorBackend({ requested: (process.env.TFJS_BACKEND as "wasm" | "cpu" | undefined) ?? "wasm", log: () => {} });

function relativeL2(ours: Float32Array, reference: Float32Array): number {
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    difference += (ours[i] - reference[i]) ** 2;
    norm += reference[i] ** 2;
  }
  return Math.sqrt(difference / norm);
}

/** What the wasm heap (4 GiB) leaves for a step's activations beside the weights and the allocator's slack. */
const WASM_HEAP_ROOM = 3.6 * 2 ** 30;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const options: [string, UNetMemoryOptions][] = [
  ["plain", { gradientCheckpointing: false }],
  ["checkpointing", { gradientCheckpointing: true }],
  [`chunk ${chunk}`, { gradientCheckpointing: false, attentionChunk: chunk }],
  [`both`, { gradientCheckpointing: true, attentionChunk: chunk }],
];

console.log(`tfjs ${backend}; load average ${loadavg().map((load) => load.toFixed(2)).join(" ")}; LoRA rank ${RANK}, batch 2, 77 tokens\n`);
console.log("| UNet | latents | option | forward buffers MiB | plan MiB | step: peak buffers MiB | plan MiB | step: peak tfjs bytes MiB | step s | loss / gradient rel. diff |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const { network, side } of cases) {
  const config = NETWORKS[network];
  const unet = new UNet2DConditionModel(config, { kind: "random", seed: 1 });
  const lora = createLora(unet.params, { rank: RANK, targets: [LORA_TARGETS.attention], seed: 1 });
  // Trained-looking adapters, so their gradients and outputs are not trivially zero.
  for (const adapter of lora.adapters.values()) adapter.up.assign(tf.mul(tf.randomNormal(adapter.up.shape, 0, 1, "float32", 3), 0.05));
  unet.params.lora = lora;
  const random = new Random(7);
  const latents = random.normal<tf.Rank.R4>([2, side, side, config.in_channels]);
  const target = random.normal<tf.Rank.R4>([2, side, side, config.out_channels]);
  const context = random.normal<tf.Rank.R3>([2, 77, config.cross_attention_dim]);
  const timesteps = tf.tensor1d([100, 700]);
  const step = () => tf.variableGrads(() => tf.mean(tf.squaredDifference(unet.forward(latents, timesteps, context), target)) as tf.Scalar, loraVariables(lora));
  let reference: Float32Array[] | undefined;
  for (const [label, memory] of options) {
    unet.memory = memory;
    const shape = { batch: 2, latentSize: side, contextLength: 77 };
    const planned = activationBytes(config, shape, { method: "lora", loraRank: RANK, ...memory });
    if (backend === "wasm" && planned > WASM_HEAP_ROOM) {
      console.log(`| ${network} | ${side}×${side} | ${label} | — | — | does not fit the 4 GiB wasm heap | ${mib(planned)} | — | — | — |`);
      continue;
    }
    const baseline = tf.memory().numBytes;
    const watch = watchTensorMemory();
    tf.tidy(() => {
      unet.forward(latents, timesteps, context);
    });
    const forwardPeak = watch.peakBufferBytes - baseline;
    const forwardCosts = unetForwardCosts(config, shape, { loraRank: RANK, attentionChunk: memory.attentionChunk });
    // Without a tape a checkpointed block frees its buffers as it ends: the plan's sum is for the plain forward.
    const forwardPlan = memory.gradientCheckpointing
      ? undefined
      : 4 * (forwardCosts.reduce((sum, cost) => sum + cost.created, 0) + 2 * Math.max(...forwardCosts.map((cost) => cost.sliceScores)));
    watch.reset();
    const { value, grads } = step();
    watch.stop();
    const values = [value, ...loraVariables(lora).map((variable) => grads[variable.name])].map((tensor) => tensor.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    // Differences are to the plain path, which is the first option; without it (too big here) there is nothing to compare.
    if (!memory.gradientCheckpointing && memory.attentionChunk === undefined) reference = values;
    const difference = reference ? Math.max(...values.map((tensor, i) => relativeL2(tensor, reference![i]))).toExponential(1) : "no plain run";
    const seconds: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const started = performance.now();
      const timed = step();
      timed.value.dataSync();
      seconds.push((performance.now() - started) / 1000);
      tf.dispose([timed.value, ...Object.values(timed.grads)]);
    }
    const median = seconds.sort((a, b) => a - b)[Math.floor(seconds.length / 2)];
    console.log(
      `| ${network} | ${side}×${side} | ${label} | ${mib(forwardPeak)} | ${forwardPlan === undefined ? "—" : mib(forwardPlan)} | ${mib(watch.peakBufferBytes - baseline)} | ${mib(planned)} | ${mib(watch.peakBytes - baseline)} | ${median.toFixed(2)} | ${difference} |`,
    );
  }
  unet.params.dispose();
  tf.dispose([latents, target, context, timesteps]);
}
console.log(`\nload average after: ${loadavg().map((load) => load.toFixed(2)).join(" ")}`);
