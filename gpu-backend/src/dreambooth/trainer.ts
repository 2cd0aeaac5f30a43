/**
 * The DreamBooth training step. Each step draws (from one seeded generator, whose
 * state checkpoints carry) `batch_size` subject examples and, with prior
 * preservation, as many class examples; adds noise at random timesteps
 * (optionally offset noise); predicts with the UNet conditioned on each example's
 * prompt; and takes an AdamW step on `MSE(instance) + λ·MSE(class)` (see
 * loss.ts) after clipping the gradient norm. Latents come pre-encoded (the VAE is
 * frozen); prompt embeddings are cached unless the text encoder trains. With
 * `workers` > 1 the batch's gradient is computed by that many replicas, one per
 * thread (replica-pool.ts), and the one optimizer here applies their sum. The
 * UNet's memory options (checkpointing, attention chunks) hold for the run and
 * are put back by `dispose`, since the base model outlives the job.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ClipTextModel } from "../model/clip-text.js";
import type { UNet2DConditionModel, UNetMemoryOptions } from "../model/unet.js";
import { concatenate } from "../tensor/concatenate.js";
import { Random, type RandomState } from "../tensor/random.js";
import { speedSwitches } from "../tensor/speed-switches.js";
import { restoreCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { dreamboothLoss, exampleCoefficients, minSnrWeights, type PredictionType } from "./loss.js";
import { learningRateAt, type LrSchedule } from "./lr-schedule.js";
import { adamWStep, clipScale, createAdamWState, DEFAULT_ADAMW, gradientNorm, type AdamWState } from "./optimizer.js";
import { replicasFor, ReplicaPool } from "./replica-pool.js";
import { variableLayout, type ReplicaSpec } from "./replica-protocol.js";
import { shardGradients, shardRanges, sliceShard, type Shard } from "./shard.js";
import type { TrainableWeights } from "./trainable.js";
import { tidyValues } from "../tensor/tidy-values.js";

/** One training image: its latents ([plain] or [plain, mirrored]) and its prompt's token ids. */
export interface TrainingExample {
  latents: Float32Array[];
  tokenIds: Int32Array;
}

export interface NoiseSchedule {
  /** ᾱ_t for t = 0 … num_train_timesteps − 1. */
  alphasCumprod: Float32Array;
  predictionType: PredictionType;
}

export interface TrainerOptions {
  batchSize: number;
  priorWeight: number;
  offsetNoise: number;
  snrGamma?: number;
  maxGradNorm: number;
  weightDecay: number;
  learningRate: LrSchedule;
  trainTextEncoder: boolean;
  seed: number;
  /**
   * Most data-parallel replicas, one per thread (default 1: no threads); fewer when the step has too few
   * examples to share (`replicasFor`). See replica-pool.ts.
   */
  workers?: number;
  /** Gradient checkpointing and attention chunks for this run (plain when absent). */
  memory?: UNetMemoryOptions;
}

export interface TrainerSetup {
  unet: UNet2DConditionModel;
  textEncoder: ClipTextModel;
  schedule: NoiseSchedule;
  trainable: TrainableWeights;
  /** Latent shape [h, w, c] of every example. */
  latentShape: [number, number, number];
  instance: TrainingExample[];
  /** Empty without prior preservation: then batches have no class half at all. */
  classExamples: TrainingExample[];
  options: TrainerOptions;
}

interface StepDraw {
  examples: TrainingExample[];
  latents: Float32Array[];
  noiseValues: Float32Array;
  offsetValues: Float32Array | undefined;
  timesteps: number[];
  alphaBars: number[];
}

export interface StepResult {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export class DreamBoothTrainer {
  step = 0;
  private random: Random;
  private readonly optimizer: AdamWState;
  private readonly variableKeys: Map<string, string>;
  private readonly frozenEmbeddings = new Map<TrainingExample, tf.Tensor2D>();
  private readonly pool: ReplicaPool | undefined;
  /** Replicas computing each step's gradient (1: this thread alone). */
  readonly replicas: number;
  private readonly unetMemoryBefore: UNetMemoryOptions;

  constructor(private readonly setup: TrainerSetup) {
    this.unetMemoryBefore = setup.unet.memory;
    if (setup.options.memory) setup.unet.memory = setup.options.memory;
    this.random = new Random(setup.options.seed);
    this.optimizer = createAdamWState(setup.trainable.variables);
    this.variableKeys = new Map([...setup.trainable.variables].map(([key, variable]) => [variable.name, key]));
    if (!setup.options.trainTextEncoder) {
      for (const example of [...setup.instance, ...setup.classExamples]) {
        const embedding = tf.tidy(() => {
          const ids = tf.tensor2d(example.tokenIds, [1, example.tokenIds.length], "int32");
          return tf.squeeze(setup.textEncoder.forward(ids).lastHiddenState, [0]) as tf.Tensor2D;
        });
        this.frozenEmbeddings.set(example, embedding);
      }
    }
    const examples = setup.options.batchSize * (setup.classExamples.length > 0 ? 2 : 1);
    this.replicas = replicasFor(examples, setup.options.workers ?? 1);
    if (this.replicas > 1) this.pool = new ReplicaPool(replicaSpec(setup), this.replicas);
  }

  get randomState(): RandomState {
    return this.random.state();
  }

  /** Draws the batch: subject examples first, then class examples. */
  private drawBatch(): { examples: TrainingExample[]; latents: Float32Array[] } {
    const { instance, classExamples, options } = this.setup;
    const examples: TrainingExample[] = [];
    const latents: Float32Array[] = [];
    const pick = (pool: TrainingExample[]) => {
      for (let i = 0; i < options.batchSize; i++) {
        const example = pool[this.random.integer(pool.length)];
        const mirrored = example.latents.length > 1 && this.random.uniform() < 0.5;
        examples.push(example);
        latents.push(example.latents[mirrored ? 1 : 0]);
      }
    };
    pick(instance);
    if (classExamples.length > 0) pick(classExamples);
    return { examples, latents };
  }

  /** Everything random in a step, drawn in one fixed order whatever the number of replicas. */
  private drawStep(): StepDraw {
    const { schedule, latentShape, options } = this.setup;
    const { examples, latents } = this.drawBatch();
    const [height, width, channels] = latentShape;
    const noiseValues = this.random.normalArray(examples.length * height * width * channels);
    const offsetValues = options.offsetNoise > 0 ? this.random.normalArray(examples.length * channels) : undefined;
    const timesteps = examples.map(() => this.random.integer(schedule.alphasCumprod.length));
    const alphaBars = timesteps.map((t) => schedule.alphasCumprod[t]);
    return { examples, latents, noiseValues, offsetValues, timesteps, alphaBars };
  }

  /** Noisy latents and the prediction target: √ᾱ·x₀ + √(1−ᾱ)·ε, and ε or v. */
  private noisedBatch({ latents, noiseValues, offsetValues, alphaBars }: StepDraw): { noisyLatents: tf.Tensor4D; target: tf.Tensor4D } {
    const { schedule, latentShape, options } = this.setup;
    const batch = latents.length;
    const [height, width, channels] = latentShape;
    const cleanLatents = tf.tensor4d(concatenate(latents), [batch, height, width, channels]);
    let noise: tf.Tensor4D = tf.tensor4d(noiseValues, [batch, height, width, channels]);
    if (offsetValues) noise = tf.add(noise, tf.mul(tf.tensor4d(offsetValues, [batch, 1, 1, channels]), options.offsetNoise));
    const signalScale = tf.tensor4d(alphaBars.map(Math.sqrt), [batch, 1, 1, 1]);
    const noiseScale = tf.tensor4d(alphaBars.map((alphaBar) => Math.sqrt(1 - alphaBar)), [batch, 1, 1, 1]);
    const noisyLatents = tf.add(tf.mul(cleanLatents, signalScale), tf.mul(noise, noiseScale)) as tf.Tensor4D;
    // v-prediction target: √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans & Ho 2022).
    const target =
      schedule.predictionType === "epsilon" ? noise : (tf.sub(tf.mul(noise, signalScale), tf.mul(cleanLatents, noiseScale)) as tf.Tensor4D);
    return { noisyLatents, target };
  }

  /** The whole batch's loss and gradient on this thread: the trainer as it is with one replica. */
  private localGradients(draw: StepDraw): { loss: number; gradients: Map<string, tf.Tensor> } {
    const { unet, textEncoder, schedule, trainable, options } = this.setup;
    const { examples, timesteps, alphaBars } = draw;
    const batch = examples.length;
    const result = tf.tidy(() => {
      const { noisyLatents, target } = this.noisedBatch(draw);
      const exampleWeights =
        options.snrGamma === undefined
          ? undefined
          : tf.tensor1d(minSnrWeights(alphaBars, options.snrGamma, schedule.predictionType));
      const timestepTensor = tf.tensor1d(timesteps, "float32");
      const tokenIds = tf.tensor2d(concatenateIds(examples), [batch, examples[0].tokenIds.length], "int32");
      const computeLoss = () => {
        const context = options.trainTextEncoder
          ? textEncoder.forward(tokenIds).lastHiddenState
          : (tf.stack(examples.map((example) => this.frozenEmbeddings.get(example)!)) as tf.Tensor3D);
        const prediction = unet.forward(noisyLatents, timestepTensor, context);
        return dreamboothLoss(prediction, target, {
          instanceCount: options.batchSize,
          priorWeight: options.priorWeight,
          exampleWeights,
        }).loss;
      };
      const { value, grads } = tf.variableGrads(computeLoss, [...trainable.variables.values()]);
      return { loss: value, grads };
    });
    const gradients = new Map(
      Object.entries(result.grads).map(([variableName, gradient]) => [this.variableKeys.get(variableName)!, gradient]),
    );
    const loss = result.loss.dataSync()[0];
    result.loss.dispose();
    return { loss, gradients };
  }

  /** The batch cut into one shard per replica; the replicas' losses and gradients summed. */
  private parallelGradients(pool: ReplicaPool, draw: StepDraw): { loss: number; gradients: Map<string, tf.Tensor> } {
    const { unet, textEncoder, schedule, trainable, latentShape, options } = this.setup;
    const { examples, timesteps, alphaBars } = draw;
    const batch = examples.length;
    const tokens = examples[0].tokenIds.length;
    // Not values returned from a tf.tidy, which walks them index by index (3 ms a step of the tiny UNet at 8 examples).
    const [noisyLatents, target] = tidyValues(() => {
      const noised = this.noisedBatch(draw);
      return [noised.noisyLatents, noised.target];
    });
    const exampleWeights = options.snrGamma === undefined ? undefined : minSnrWeights(alphaBars, options.snrGamma, schedule.predictionType);
    const whole: Shard = {
      count: batch,
      noisyLatents,
      target,
      timesteps,
      coefficients: exampleCoefficients(batch, { instanceCount: options.batchSize, priorWeight: options.priorWeight, exampleWeights }),
    };
    if (options.trainTextEncoder) whole.tokenIds = { values: concatenateIds(examples), tokens };
    else {
      const embeddings = examples.map((example) => this.frozenEmbeddings.get(example)!);
      whole.context = { values: concatenate(embeddings.map((e) => e.dataSync() as Float32Array)), tokens, width: embeddings[0].shape[1] };
    }
    const shards = shardRanges(batch, pool.count).map(([start, end]) => sliceShard(whole, start, end));
    return pool.step(shards, trainable.variables, (shard) => shardGradients({ unet, textEncoder }, trainable.variables, shard, latentShape));
  }

  trainStep(): StepResult {
    const { trainable, options } = this.setup;
    const lr = learningRateAt(options.learningRate, this.step);
    const draw = this.drawStep();
    const { loss, gradients } = this.pool ? this.parallelGradients(this.pool, draw) : this.localGradients(draw);
    const norm = gradientNorm(gradients);
    adamWStep(trainable.variables, gradients, this.optimizer, lr, { ...DEFAULT_ADAMW, weightDecay: options.weightDecay }, clipScale(norm, options.maxGradNorm));
    tf.dispose([...gradients.values()]);
    this.step += 1;
    return { step: this.step, loss, lr, gradNorm: norm };
  }

  /** `momentDtype: "BF16"` halves the optimizer moments (pretraining commits its stage state between sittings). */
  async saveCheckpoint(file: string, fingerprint: string, { momentDtype = "F32" }: { momentDtype?: "F32" | "BF16" } = {}): Promise<void> {
    await writeCheckpoint(file, this.setup.trainable.variables, this.optimizer, {
      step: this.step,
      random: this.random.state(),
      fingerprint,
      momentDtype,
    });
  }

  async restoreCheckpoint(file: string, fingerprint: string): Promise<void> {
    const facts = await restoreCheckpoint(file, this.setup.trainable.variables, this.optimizer, fingerprint);
    this.step = facts.step;
    this.random = new Random(facts.random);
  }

  dispose(): void {
    this.setup.unet.memory = this.unetMemoryBefore;
    tf.dispose([...this.frozenEmbeddings.values()]);
    this.frozenEmbeddings.clear();
    tf.dispose([...this.optimizer.firstMoment.values(), ...this.optimizer.secondMoment.values()]);
    this.pool?.dispose();
  }
}

function concatenateIds(examples: TrainingExample[]): Int32Array {
  const length = examples[0].tokenIds.length;
  const out = new Int32Array(examples.length * length);
  examples.forEach((example, index) => out.set(example.tokenIds, index * length));
  return out;
}

/** What a worker replica needs to rebuild this trainer's networks and trainable weights. */
function replicaSpec({ unet, textEncoder, trainable, latentShape }: TrainerSetup): ReplicaSpec {
  const values = (store: UNet2DConditionModel["params"]) =>
    Object.fromEntries([...store.params].map(([name, { variable }]) => [name, variable.dataSync() as Float32Array]));
  return {
    backend: tf.getBackend(),
    switches: speedSwitches(),
    unetMemory: unet.memory,
    unetConfig: unet.config,
    textConfig: textEncoder.config,
    weights: { unet: values(unet.params), textEncoder: values(textEncoder.params) },
    choice: trainable.choice,
    latentShape,
    layout: variableLayout([...trainable.variables].map(([key, variable]) => [key, variable.shape])),
  };
}
