/**
 * One benchmark run: DreamBooth on a subject's photos with the service's own trainer (the same
 * `attachTrainableWeights` and `DreamBoothTrainer` a training job uses), then the subject evaluation,
 * then the base model given back unchanged. Class images for prior preservation are rendered once per
 * class by the caller and shared by every run, as the service's class-image cache shares them.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Pixels } from "../../src/dreambooth/images.js";
import { trainingWorkers } from "../../src/dreambooth/replica-pool.js";
import { attachTrainableWeights } from "../../src/dreambooth/trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "../../src/dreambooth/trainer.js";
import type { StableDiffusion } from "../../src/model/pipeline.js";
import { trainingNoiseSchedule } from "../../src/model/schedulers/index.js";
import type { Judge } from "../../src/quality/judge.js";
import { evaluateSubject, type EvaluationOptions } from "../../src/quality/subject-report.js";

export interface RunConfig {
  label: string;
  method: "lora" | "full";
  priorWeight: number;
  learningRate: number;
  steps: number;
  seed: number;
  /** Train the text encoder beside the UNet (diffusers' --train_text_encoder), so the identifier can gain a meaning. */
  trainTextEncoder: boolean;
}

export interface RunInput {
  model: StableDiffusion;
  judge: Judge;
  photos: Pixels[];
  classImages: Pixels[];
  identifier: string;
  classNoun: string;
}

function latentsOf(model: StableDiffusion, image: Pixels): Float32Array {
  return tf.tidy(() => {
    const { mean } = model.vae.encode(tf.tensor4d(image.data, [1, image.height, image.width, 3]));
    return tf.mul(mean, model.vae.scalingFactor).dataSync() as Float32Array;
  });
}

/** Trains (unless `config` is undefined: the base model) and evaluates; returns the report and images. */
export async function benchmarkRun(input: RunInput, config: RunConfig | undefined, evaluation: EvaluationOptions, baseModel: string) {
  const { model, judge, photos, classImages, identifier, classNoun } = input;
  const subject = { identifier, class_noun: classNoun };
  if (!config) return { ...(await evaluateSubject(model, judge, photos, subject, baseModel, evaluation)), losses: [] as number[], trainingSeconds: 0 };
  const trainable = attachTrainableWeights(
    { unet: model.unet, textEncoder: model.textEncoder },
    { method: config.method, lora_rank: 4, lora_alpha: 4, train_text_encoder: config.trainTextEncoder, seed: config.seed },
  );
  const instanceTokens = Int32Array.from(model.tokenizer.encode(`a photo of a ${identifier} ${classNoun}`));
  const classTokens = Int32Array.from(model.tokenizer.encode(`a photo of a ${classNoun}`));
  const side = model.unet.config.sample_size;
  const trainer = new DreamBoothTrainer({
    unet: model.unet,
    textEncoder: model.textEncoder,
    schedule: trainingNoiseSchedule(model.scheduler),
    trainable,
    latentShape: [side, side, model.unet.config.in_channels],
    instance: photos.map((photo): TrainingExample => ({ latents: [latentsOf(model, photo)], tokenIds: instanceTokens })),
    classExamples:
      config.priorWeight > 0 ? classImages.map((image): TrainingExample => ({ latents: [latentsOf(model, image)], tokenIds: classTokens })) : [],
    options: {
      batchSize: 1,
      priorWeight: config.priorWeight,
      offsetNoise: 0,
      maxGradNorm: 1,
      weightDecay: 1e-2,
      learningRate: { kind: "constant", baseLr: config.learningRate, warmupSteps: 0, totalSteps: config.steps },
      trainTextEncoder: config.trainTextEncoder,
      seed: config.seed,
      workers: trainingWorkers(),
    },
  });
  const losses: number[] = [];
  try {
    const started = Date.now();
    while (trainer.step < config.steps) losses.push(trainer.trainStep().loss);
    const trainingSeconds = (Date.now() - started) / 1000;
    // Every run samples with the same seeds as the base model, so differences come from training alone.
    const evaluated = await evaluateSubject(model, judge, photos, subject, baseModel, evaluation);
    return { ...evaluated, losses, trainingSeconds };
  } finally {
    trainer.dispose();
    trainable.release();
  }
}
