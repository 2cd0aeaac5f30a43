/**
 * Data-parallel scaling: samples per second of the DreamBooth trainer (full fine-tune of the tiny
 * UNet, 16×16 latents, `batchSize` subject + `batchSize` class examples a step, split over the replicas)
 * with one replica or several. Wall time, since the point is threads working at once; the load average
 * belongs next to the result.
 */
import { ClipTextModel } from "../../src/model/clip-text.js";
import { tinyClipTextConfig, tinyUNetConfig } from "../../src/model/tiny.js";
import { UNet2DConditionModel } from "../../src/model/unet.js";
import { Random } from "../../src/tensor/random.js";
import { attachTrainableWeights } from "../../src/dreambooth/trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "../../src/dreambooth/trainer.js";

const SIDE = tinyUNetConfig.sample_size;

/**
 * Untimed steps before the timed ones. Every trainer starts its worker replicas afresh, each a new V8
 * isolate whose JavaScript (tfjs' engine, our kernels' glue) is not yet optimised, while the trainer's
 * thread has run the same code all along. After one untimed step the worker's half of a step took ~25 %
 * longer than the trainer's, and 2 replicas against 1 read × 1.14 (same global batch) and × 1.27 (same
 * batch per replica); after eight, × 1.53 and × 1.59 in the same process. A training runs hundreds of steps.
 */
const WARM_UP_STEPS = 8;

export function trainerSamplesPerSecond(workers: number, steps: number, batchSize = 4): number {
  const unet = new UNet2DConditionModel(tinyUNetConfig, { kind: "random", seed: 1 });
  const textEncoder = new ClipTextModel(tinyClipTextConfig, { kind: "random", seed: 2 });
  const random = new Random(3);
  const example = (id: number): TrainingExample => {
    const tokenIds = new Int32Array(77).fill(999);
    tokenIds.set([998, id]);
    return { latents: [random.normalArray(SIDE * SIDE * 4)], tokenIds };
  };
  const trainable = attachTrainableWeights({ unet, textEncoder }, { method: "full", lora_rank: 4, lora_alpha: 4, train_text_encoder: false, seed: 1 });
  const alphasCumprod = Float32Array.from({ length: 1000 }, (_, t) => Math.cos(((t / 1000 + 0.008) / 1.008) * (Math.PI / 2)) ** 2);
  const trainer = new DreamBoothTrainer({
    unet,
    textEncoder,
    schedule: { alphasCumprod, predictionType: "epsilon" },
    trainable,
    latentShape: [SIDE, SIDE, 4],
    instance: [example(5), example(6)],
    classExamples: [example(7), example(8)],
    options: {
      batchSize,
      priorWeight: 1,
      offsetNoise: 0,
      maxGradNorm: 1,
      weightDecay: 1e-2,
      learningRate: { kind: "constant", baseLr: 1e-4, warmupSteps: 0, totalSteps: steps + 1 },
      trainTextEncoder: false,
      seed: 1,
      workers,
    },
  });
  try {
    // The first step also waits for the replicas to load; the rest warm them up.
    for (let step = 0; step < WARM_UP_STEPS; step++) trainer.trainStep();
    const started = performance.now();
    for (let step = 0; step < steps; step++) trainer.trainStep();
    return (2 * batchSize * steps) / ((performance.now() - started) / 1000);
  } finally {
    trainer.dispose();
    trainable.release();
    unet.params.dispose();
    textEncoder.params.dispose();
  }
}
