/**
 * Where one DreamBooth training step of a real base model goes, kernel by kernel: `npm run bench:profile`
 * loads the model (default the embedded tiny-emoji), trains a few steps of full fine-tuning (or LoRA) on
 * random latents with the service's own trainer in this process (one replica), then profiles one step
 * with tf.profile and prints the step's CPU ms, the kernel count, and the kernels by total time.
 *
 *   npm run bench:profile -- [--model gpu-backend/models/tiny-emoji] [--method full|lora] [--prior] [--steps 20]
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { attachTrainableWeights } from "../src/dreambooth/trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "../src/dreambooth/trainer.js";
import { loadStableDiffusionPipeline } from "../src/model/pipeline.js";
import { trainingNoiseSchedule } from "../src/model/schedulers/index.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { Random } from "../src/tensor/random.js";
import { FAMILIES, FAMILY_LABELS, profileByFamily } from "./model/kernel-families.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    method: { type: "string", default: "full" },
    prior: { type: "boolean", default: false },
    steps: { type: "string", default: "20" },
    top: { type: "string", default: "25" },
  },
});
const method = values.method === "lora" ? "lora" : "full";
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });
const model = await loadStableDiffusionPipeline(values.model!);
const random = new Random(1);
const side = model.unet.config.sample_size;
const channels = model.unet.config.in_channels;
const example = (prompt: string): TrainingExample => ({ latents: [random.normalArray(side * side * channels)], tokenIds: Int32Array.from(model.tokenizer.encode(prompt)) });
const trainable = attachTrainableWeights({ unet: model.unet, textEncoder: model.textEncoder }, { method, lora_rank: 4, lora_alpha: 4, train_text_encoder: false, seed: 1 });
const steps = Number(values.steps);
const trainer = new DreamBoothTrainer({
  unet: model.unet,
  textEncoder: model.textEncoder,
  schedule: trainingNoiseSchedule(model.scheduler),
  trainable,
  latentShape: [side, side, channels],
  instance: [example("a photo of a sks dog"), example("a photo of a sks dog")],
  classExamples: values.prior ? [example("a photo of a dog")] : [],
  options: {
    batchSize: 1,
    priorWeight: values.prior ? 1 : 0,
    offsetNoise: 0,
    maxGradNorm: 1,
    weightDecay: 1e-2,
    learningRate: { kind: "constant", baseLr: 1e-4, warmupSteps: 0, totalSteps: steps + 1 },
    trainTextEncoder: false,
    seed: 1,
    workers: 1,
  },
});
for (let i = 0; i < 3; i++) trainer.trainStep();
const cpuStart = process.cpuUsage();
for (let i = 0; i < steps; i++) trainer.trainStep();
const cpu = process.cpuUsage(cpuStart);
const stepMs = (cpu.user + cpu.system) / 1000 / steps;
const profile = await tf.profile(() => {
  trainer.trainStep();
  return [];
});
const byName = new Map<string, { ms: number; count: number }>();
for (const kernel of profile.kernels) {
  const entry = byName.get(kernel.name) ?? { ms: 0, count: 0 };
  entry.ms += Number(kernel.kernelTimeMs);
  entry.count++;
  byName.set(kernel.name, entry);
}
const families = profileByFamily(profile.kernels.map(({ name, kernelTimeMs }) => ({ name, kernelTimeMs: Number(kernelTimeMs) })), stepMs);
console.log(`${values.model} ${method}${values.prior ? "+prior" : ""}, batch 1, one replica: ${stepMs.toFixed(1)} CPU ms a step (mean of ${steps}), ${families.kernels} kernels`);
for (const family of FAMILIES) console.log(`  ${FAMILY_LABELS[family].padEnd(48)} ${families.ms[family].toFixed(1).padStart(7)} ms  ${((100 * families.ms[family]) / stepMs).toFixed(0).padStart(3)} %`);
console.log("\nkernels by time:");
for (const [name, { ms, count }] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
  console.log(`  ${name.padEnd(36)} ${ms.toFixed(2).padStart(8)} ms  ${String(count).padStart(5)} calls  ${((1000 * ms) / count).toFixed(0).padStart(6)} µs/call`);
}
trainer.dispose();
trainable.release();
