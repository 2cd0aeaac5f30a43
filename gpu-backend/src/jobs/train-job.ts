/**
 * A DreamBooth training job from message to artifacts: fetch and verify the
 * photos, obtain the class images (cache or render), encode everything once with
 * the frozen VAE, train with checkpoints (each scored for best-checkpoint
 * selection), validation samples and progress, then grade and export the chosen
 * step's weights. Cancel, deadline and shutdown act between steps through the job
 * context; on shutdown the run saves a checkpoint first so the next attempt
 * resumes from it. The base model is given back unchanged however the job ends.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type { TrainJob } from "../../../shared/job.js";
import { generate } from "../model/pipeline.js";
import { Random } from "../tensor/random.js";
import { tidyValues } from "../tensor/tidy-values.js";
import { qualityReportArtifact, trainingQuality } from "../quality/training-quality.js";
import { JobError } from "./errors.js";
import { shutdownError, type JobContext, type JobSuccess } from "./context.js";
import type { BaseModel } from "../dreambooth/base-model.js";
import { CheckpointScoring } from "../dreambooth/checkpoint-scoring.js";
import { trainedModelCard } from "../dreambooth/trained-model-card.js";
import { obtainClassImages } from "./class-images.js";
import { isValidationStep } from "./validation-schedule.js";
import { fullFineTuneExports, loraExports } from "../dreambooth/exports.js";
import { decodeTrainingPhoto, encodePng, flipHorizontal, type Pixels } from "../dreambooth/images.js";
import { trainingPrompts } from "../dreambooth/prompts.js";
import { trainingWorkers } from "../dreambooth/replica-pool.js";
import { attachTrainableWeights } from "../dreambooth/trainable.js";
import { DreamBoothTrainer, type TrainingExample } from "../dreambooth/trainer.js";

export interface TrainJobDeps {
  model(baseModel: string): Promise<BaseModel>;
  /** Scratch space; each job gets its own folder, removed at the end. */
  workDir: string;
}

/** Identifies a training's inputs, so a checkpoint is only ever resumed into the same training. */
export function trainingFingerprint(job: TrainJob): string {
  const identity = { base_model: job.base_model, params: job.params, inputs: job.inputs.map((input) => input.sha256) };
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}

export const checkpointName = (step: number) => `checkpoints/step-${String(step).padStart(6, "0")}.safetensors` as const;

async function decodePhotos(context: JobContext<TrainJob>): Promise<Pixels[]> {
  const { job } = context;
  // Random crops come from their own generator so the training stream is the same on resume;
  // `>>> 0` keeps the mixed seed unsigned for seeds ≥ 2^31 (the Worker draws them from the whole uint32 range).
  const cropRandom = new Random((job.params.seed ^ 0x5eed) >>> 0);
  const photos: Pixels[] = [];
  for (const input of job.inputs) {
    const bytes = await context.fetchInput(input);
    try {
      photos.push(
        await decodeTrainingPhoto(bytes, {
          resolution: job.params.resolution,
          centerCrop: job.params.center_crop,
          random: () => cropRandom.uniform(),
        }),
      );
    } catch {
      throw new JobError("invalid_photo", `${input.name} is not an image we can read (JPEG, PNG, WebP, AVIF, HEIF or TIFF)`);
    }
  }
  return photos;
}

/** Latent mean × scaling factor of each image (and of its mirror image with random_flip). */
function encodeLatents(model: BaseModel, images: Pixels[], withMirror: boolean): Float32Array[][] {
  return images.map((image) =>
    (withMirror ? [image, flipHorizontal(image)] : [image]).map((variant) =>
      tidyValues(() => {
        const pixels = tf.tensor4d(variant.data, [1, variant.height, variant.width, 3]);
        const { mean } = model.vae.encode(pixels);
        return tf.mul(mean, model.vae.scalingFactor);
      }),
    ),
  );
}

export async function runTrainJob(context: JobContext<TrainJob>, deps: TrainJobDeps): Promise<JobSuccess> {
  const { job, events, uploads } = context;
  const { params } = job;
  const workDir = path.join(deps.workDir, `${job.job_id}-${job.attempt}`);
  await mkdir(workDir, { recursive: true });
  // Preparing counts class images (0 while the model loads), so a client can show their progress and ETA.
  const classImageCount = params.prior_preservation.enabled ? params.prior_preservation.num_class_images : 0;
  events.progress({ phase: "preparing", step: 0, total_steps: classImageCount, message: "loading the base model" });
  const model = await deps.model(job.base_model);
  if (params.resolution % model.vaeScaleFactor !== 0) {
    throw new JobError("invalid_resolution", `resolution must be a multiple of ${model.vaeScaleFactor} for ${model.id}`);
  }
  const photos = await decodePhotos(context);
  const prior = params.prior_preservation.enabled ? await obtainClassImages(context, model) : undefined;
  const prompts = trainingPrompts(job);
  const latentSide = params.resolution / model.vaeScaleFactor;
  const instance: TrainingExample[] = encodeLatents(model, photos, params.random_flip).map((latents, index) => ({
    latents,
    tokenIds: model.tokenizer.encode(prompts.instance[index]),
  }));
  const classTokens = model.tokenizer.encode(prompts.class);
  const classExamples: TrainingExample[] = prior
    ? encodeLatents(model, prior.images, params.random_flip).map((latents) => ({ latents, tokenIds: classTokens }))
    : [];

  const trainable = attachTrainableWeights({ unet: model.unet, textEncoder: model.textEncoder }, params);
  const trainer = new DreamBoothTrainer({
    unet: model.unet,
    textEncoder: model.textEncoder,
    schedule: model.schedule,
    trainable,
    latentShape: [latentSide, latentSide, model.unet.config.in_channels],
    instance,
    classExamples,
    options: {
      batchSize: params.batch_size,
      priorWeight: params.prior_preservation.weight,
      offsetNoise: params.offset_noise,
      snrGamma: params.snr_gamma,
      maxGradNorm: params.max_grad_norm,
      weightDecay: params.weight_decay,
      learningRate: { kind: params.lr_schedule, baseLr: params.learning_rate, warmupSteps: params.lr_warmup_steps, totalSteps: params.steps },
      trainTextEncoder: params.train_text_encoder,
      seed: params.seed,
      workers: trainingWorkers(),
      memory: { gradientCheckpointing: params.gradient_checkpointing, attentionChunk: params.attention_chunk },
    },
  });
  const fingerprint = trainingFingerprint(job);
  const checkpointFile = path.join(workDir, "checkpoint.safetensors");
  const scoring = new CheckpointScoring({
    selection: params.checkpoint_selection,
    score: () => trainingQuality(model, photos, job.subject),
    keptFile: path.join(workDir, "selected-checkpoint.safetensors"),
  });
  const saveAndUploadCheckpoint = async () => {
    await trainer.saveCheckpoint(checkpointFile, fingerprint);
    await uploads.upload({
      name: checkpointName(trainer.step),
      bytes: new Uint8Array(await readFile(checkpointFile)),
      contentType: "application/octet-stream",
      format: "checkpoint",
      meta: { step: trainer.step, total_steps: params.steps },
    });
  };
  try {
    if (job.resume) {
      const bytes = await context.fetchInput({ name: `checkpoint of step ${job.resume.step}`, url: job.resume.url, sha256: job.resume.sha256 });
      await writeFile(checkpointFile, bytes);
      await trainer.restoreCheckpoint(checkpointFile, fingerprint).catch((error: Error) => {
        throw new JobError("checkpoint_invalid", `cannot resume from the checkpoint: ${error.message}`, false);
      });
    }
    const startStep = trainer.step;
    const started = Date.now();
    let lastLoss = Number.NaN;
    while (trainer.step < params.steps) {
      // A step is synchronous tensor work; yielding lets events go out and cancel/health requests come in.
      await new Promise((resolve) => setImmediate(resolve));
      context.checkpoint();
      if (context.shutdownRequested) {
        await saveAndUploadCheckpoint();
        throw shutdownError(trainer.step);
      }
      const { step, loss, lr } = trainer.trainStep();
      if (!Number.isFinite(loss)) {
        throw new JobError("training_diverged", `the loss became ${loss} at step ${step}; lower the learning rate`, false);
      }
      lastLoss = loss;
      const msPerStep = (Date.now() - started) / (step - startStep);
      events.progress({ phase: "training", step, total_steps: params.steps, loss, lr, eta_s: ((params.steps - step) * msPerStep) / 1000 });
      if (step % params.checkpoint_every === 0 && step < params.steps) {
        await saveAndUploadCheckpoint();
        await scoring.consider(step, checkpointFile);
      }
      if (isValidationStep(step, params)) {
        await renderValidationSamples(context, model, step);
      }
    }
    const msPerStep = trainer.step > startStep ? (Date.now() - started) / (trainer.step - startStep) : 0;
    // The final step is saved before exporting, so a kill during export never retrains.
    if (trainer.step > startStep) await saveAndUploadCheckpoint();
    // Exporting has two counted stages, grading (an earlier checkpoint may win) and the weights, so a client can show how far it is.
    const exportSteps = 2;
    events.progress({ phase: "exporting", step: 0, total_steps: exportSteps, message: "grading the trained weights" });
    // Graded while the trained weights are still attached (base models with a judge only).
    const { selected, quality } = await scoring.finish(trainer.step, (file) => trainer.restoreCheckpoint(file, fingerprint));
    events.progress({ phase: "exporting", step: 1, total_steps: exportSteps, message: `writing the weights of step ${selected.step}` });
    const meta = { base_model: job.base_model, method: params.method, steps: params.steps, step: selected.step, rank: params.lora_rank, alpha: params.lora_alpha };
    const artifacts = trainable.lora
      ? await loraExports(model, trainable.lora, workDir, meta)
      : await fullFineTuneExports(
          model,
          params.train_text_encoder,
          workDir,
          meta,
          trainedModelCard({ baseModel: job.base_model, subject: job.subject, params, photos: photos.length, quality, selected }),
        );
    for (const artifact of artifacts) {
      context.checkpoint();
      if (context.shutdownRequested) throw shutdownError(trainer.step);
      await uploads.upload(artifact);
    }
    if (quality) await uploads.upload(qualityReportArtifact(quality));
    events.progress({ phase: "exporting", step: exportSteps, total_steps: exportSteps });
    return {
      metrics: {
        steps: params.steps,
        exported_step: selected.step,
        final_loss: lastLoss,
        ms_per_step: msPerStep,
        resumed_from_step: startStep,
        class_images_cached: prior?.cached ? 1 : 0,
      },
      quality,
      selected_checkpoint: selected,
    };
  } finally {
    trainer.dispose();
    trainable.release();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Validation prompts rendered with the weights as they are now, one fixed seed per prompt. */
async function renderValidationSamples(context: JobContext<TrainJob>, model: BaseModel, step: number): Promise<void> {
  const { job } = context;
  for (const [index, prompt] of job.params.validation_prompts.entries()) {
    const seed = (job.params.seed + index) % 2 ** 32;
    const image = await generate(model, {
      prompt,
      seed,
      steps: job.params.validation_steps,
      guidanceScale: 7.5,
      scheduler: "dpmpp_2m",
      width: job.params.resolution,
      height: job.params.resolution,
      onProgress: () => context.checkpoint(),
    });
    const name = `samples/step-${String(step).padStart(6, "0")}-${index}.png` as const;
    await context.uploads.upload({
      name,
      bytes: await encodePng(image),
      contentType: "image/png",
      format: "image",
      meta: { width: image.width, height: image.height, seed, step },
    });
    await context.events.emit({ type: "sample", step, prompt, seed, artifact: name });
  }
}
