/**
 * The fake backend's whole run as data: the stages of events a real backend would
 * send for a job message, in order. Pure, so the walk is deterministic — the same
 * message always yields the same events with the same `seq`s — and a poll can be
 * answered from the message and the last seq alone, with no state of its own.
 */
import type { JobMessage, TrainJob, GenerateJob } from "../../../shared/index.js";
import { placeholderImage, placeholderSafetensors, placeholderText } from "./placeholders.js";

/** A file the stage uploads before reporting it as an `artifact` event. */
export interface FakeFile {
  kind: "file";
  name: string;
  format: "diffusers-lora" | "kohya-lora" | "diffusers" | "checkpoint" | "image" | "class-images";
  content_type: string;
  meta?: Record<string, string | number | boolean>;
  body: () => Promise<Uint8Array> | Uint8Array;
}

type Progress = {
  kind: "event";
  type: "progress";
  phase: "preparing" | "training" | "generating" | "exporting";
  step: number;
  total_steps: number;
  loss?: number;
  message?: string;
};

export type FakeStep =
  | { kind: "event"; type: "started"; backend: string; device: string }
  | Progress
  | { kind: "event"; type: "sample"; step: number; prompt: string; seed: number; artifact: string }
  | { kind: "event"; type: "succeeded"; metrics?: Record<string, number> }
  | FakeFile;

export type FakeStage = FakeStep[];

const STARTED: FakeStep = { kind: "event", type: "started", backend: "fake", device: "none (placeholder run)" };

function progress(phase: Progress["phase"], step: number, total: number, extra: Partial<Progress> = {}): Progress {
  return { kind: "event", type: "progress", phase, step, total_steps: total, ...extra };
}

function weightFiles(job: TrainJob): FakeFile[] {
  const meta = { placeholder: true, method: job.params.method, steps: job.params.steps };
  const tensorsMeta = { job_id: job.job_id, method: job.params.method };
  const safetensors = "application/octet-stream";
  if (job.params.method === "full") {
    return [
      {
        kind: "file",
        name: "artifacts/diffusers/unet/diffusion_pytorch_model.safetensors",
        format: "diffusers",
        content_type: safetensors,
        meta,
        body: () => placeholderSafetensors(tensorsMeta),
      },
    ];
  }
  return [
    {
      kind: "file",
      name: "artifacts/pytorch_lora_weights.safetensors",
      format: "diffusers-lora",
      content_type: safetensors,
      meta,
      body: () => placeholderSafetensors({ ...tensorsMeta, layout: "diffusers" }),
    },
    {
      kind: "file",
      name: "artifacts/kohya_lora.safetensors",
      format: "kohya-lora",
      content_type: safetensors,
      meta,
      body: () => placeholderSafetensors({ ...tensorsMeta, layout: "kohya" }),
    },
  ];
}

function trainingStages(job: TrainJob): FakeStage[] {
  const total = job.params.steps;
  const startStep = job.resume?.step ?? 0;
  const stages: FakeStage[] = [[STARTED], [progress("preparing", 0, 1, { message: "fetching photos" })]];
  const prior = job.params.prior_preservation;
  if (prior.enabled && !job.class_images?.url) {
    stages.push([
      progress("preparing", 0, 1, { message: `making ${prior.num_class_images} class images` }),
      {
        kind: "file",
        name: "class-images",
        format: "class-images",
        content_type: "application/octet-stream",
        meta: { placeholder: true, count: prior.num_class_images },
        body: () => placeholderText(`class-image bundle for "${prior.class_prompt}"`),
      },
    ]);
  }
  // Progress at each quarter still ahead of the resumed step, with a checkpoint midway.
  const steps = [...new Set([1, 2, 3, 4].map((quarter) => Math.round((total * quarter) / 4)))].filter((step) => step > startStep);
  const checkpointStep = steps[Math.floor((steps.length - 1) / 2)];
  for (const step of steps) {
    const stage: FakeStage = [progress("training", step, total, { loss: 0.2 / (1 + step / 100) })];
    if (step === checkpointStep) {
      stage.push({
        kind: "file",
        name: `checkpoints/step-${step}.safetensors`,
        format: "checkpoint",
        content_type: "application/octet-stream",
        meta: { placeholder: true, step },
        body: () => placeholderSafetensors({ job_id: job.job_id, step: String(step) }),
      });
    }
    stages.push(stage);
  }
  const samples: FakeStage = job.params.validation_prompts.flatMap((prompt, index): FakeStep[] => {
    const name = `samples/step-${total}-${index}.png`;
    const seed = job.params.seed + index;
    const size = job.params.resolution;
    return [
      { kind: "file", name, format: "image", content_type: "image/png", meta: { placeholder: true, width: size, height: size, seed }, body: () => placeholderImage(size, size, seed) },
      { kind: "event", type: "sample", step: total, prompt, seed, artifact: name },
    ];
  });
  if (samples.length > 0) stages.push(samples);
  stages.push([progress("exporting", 0, 1)], weightFiles(job));
  stages.push([{ kind: "event", type: "succeeded", metrics: { placeholder: 1 } }]);
  return stages;
}

function generationStages(job: GenerateJob): FakeStage[] {
  const { num_images, steps, width, height, seed } = job.params;
  const images: FakeStage = Array.from({ length: num_images }, (_, index): FakeFile => ({
    kind: "file",
    name: `images/${index}.png`,
    format: "image",
    content_type: "image/png",
    meta: { placeholder: true, width, height, seed: seed + index },
    body: () => placeholderImage(width, height, seed + index),
  }));
  return [
    [STARTED],
    [progress("preparing", 0, 1, { message: job.weights ? "loading trained weights" : "loading base model" })],
    [progress("generating", Math.ceil(steps / 2), steps)],
    [progress("generating", steps, steps)],
    [progress("exporting", 0, 1), ...images],
    [{ kind: "event", type: "succeeded" }],
  ];
}

export function fakeStages(message: JobMessage): FakeStage[] {
  return message.kind === "train" ? trainingStages(message) : generationStages(message);
}
