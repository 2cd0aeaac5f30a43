/**
 * DreamBooth training speed on this machine: ms per step of the tiny-random model with prior preservation
 * (one subject + one class example per step), LoRA and full fine-tune, at 32 and 64 px, on the backend
 * TFJS_BACKEND picks (wasm here), with `TRAIN_WORKERS` data-parallel replicas (default one per core; CPU ms
 * count every thread). Prints one line per configuration; `npm run bench:train-speed` (`bench:dreambooth` is the DreamBench benchmark).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBaseModel } from "../src/dreambooth/base-model.js";
import { trainingWorkers } from "../src/dreambooth/replica-pool.js";
import { attachTrainableWeights } from "../src/dreambooth/trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "../src/dreambooth/trainer.js";
import { ensureTinyRandomModel, TINY_RANDOM_MODEL_ID } from "../src/model/tiny-random-model.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { Random } from "../src/tensor/random.js";

const STEPS = Number(process.env.BENCH_STEPS ?? 10);
const backend = await initTensorBackend();
const directory = mkdtempSync(join(tmpdir(), "bench-dreambooth-"));
const model = await loadBaseModel(await ensureTinyRandomModel(directory), TINY_RANDOM_MODEL_ID);
const random = new Random(1);

for (const resolution of [32, 64]) {
  const side = resolution / model.vaeScaleFactor;
  const example = (prompt: string): TrainingExample => ({
    latents: [random.normalArray(side * side * 4)],
    tokenIds: model.tokenizer.encode(prompt),
  });
  for (const method of ["lora", "full"] as const) {
    const trainable = attachTrainableWeights(model, { method, lora_rank: 4, lora_alpha: 4, train_text_encoder: false, seed: 1 });
    const trainer = new DreamBoothTrainer({
      unet: model.unet,
      textEncoder: model.textEncoder,
      schedule: model.schedule,
      trainable,
      latentShape: [side, side, 4],
      instance: [example("a photo of sks dog"), example("a photo of sks dog")],
      classExamples: [example("a photo of dog")],
      options: {
        batchSize: 1,
        priorWeight: 1,
        offsetNoise: 0,
        maxGradNorm: 1,
        weightDecay: 1e-2,
        learningRate: { kind: "constant", baseLr: 1e-4, warmupSteps: 0, totalSteps: STEPS },
        trainTextEncoder: false,
        seed: 1,
        workers: trainingWorkers(),
      },
    });
    trainer.trainStep();
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    for (let step = 0; step < STEPS; step++) trainer.trainStep();
    const wallMs = (performance.now() - started) / STEPS;
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = (cpu.user + cpu.system) / 1000 / STEPS;
    console.log(`${backend} ${method.padEnd(4)} ${resolution}px (latents ${side}², batch 1+1): ${wallMs.toFixed(0)} ms/step wall, ${cpuMs.toFixed(0)} ms/step CPU`);
    trainer.dispose();
    trainable.release();
  }
}
rmSync(directory, { recursive: true, force: true });
