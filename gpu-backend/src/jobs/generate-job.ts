/**
 * A generation job: the base model, optionally with a trained LoRA (at the
 * requested `lora_scale`) or a full fine-tune's weights put in place for the
 * job, renders `num_images` images with seeds `seed`, `seed + 1`, … and uploads
 * them as PNGs. Whatever was attached is removed again afterwards, so the next
 * job sees the plain base model.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { GenerateJob, InputFile } from "../../../shared/job.js";
import { disposeLora } from "../model/lora.js";
import { generate } from "../model/pipeline.js";
import { loadWeights } from "../model/weights.js";
import { JobError } from "./errors.js";
import type { JobContext, JobSuccess } from "./context.js";
import type { BaseModel } from "../dreambooth/base-model.js";
import { encodePng } from "../dreambooth/images.js";
import { readLoraFile } from "../dreambooth/lora-files.js";
import { snapshotWeights } from "../dreambooth/trainable.js";

export interface GenerateJobDeps {
  model(baseModel: string): Promise<BaseModel>;
  workDir: string;
}

async function download(context: JobContext<GenerateJob>, file: InputFile, workDir: string): Promise<string> {
  const target = path.join(workDir, file.name.replaceAll("/", "__"));
  await writeFile(target, await context.fetchInput(file));
  return target;
}

/** Puts the job's trained weights into the base model; returns how to take them out again. */
async function applyWeights(context: JobContext<GenerateJob>, model: BaseModel, workDir: string): Promise<() => void> {
  const { weights, params } = context.job;
  if (!weights) return () => {};
  if (weights.format === "diffusers-lora") {
    const file = weights.files.find((candidate) => candidate.name.endsWith(".safetensors")) ?? weights.files[0];
    const sets = await readLoraFile(await download(context, file, workDir), {
      unet: model.unet.params,
      text_encoder: model.textEncoder.params,
    }).catch((error: Error) => {
      throw new JobError("weights_invalid", `the LoRA file does not fit ${model.id}: ${error.message}`);
    });
    model.unet.params.lora = sets.unet;
    model.textEncoder.params.lora = sets.text_encoder;
    return () => {
      for (const store of [model.unet.params, model.textEncoder.params]) {
        if (store.lora) disposeLora(store.lora);
        store.lora = undefined;
      }
    };
  }
  const restore = snapshotWeights([model.unet.params, model.textEncoder.params]);
  try {
    for (const file of weights.files) {
      const component = /^(?:.*\/)?(unet|text_encoder)\/[^/]+\.safetensors$/.exec(file.name)?.[1];
      if (!component) continue;
      const store = component === "unet" ? model.unet.params : model.textEncoder.params;
      await loadWeights(store, [await download(context, file, workDir)]);
    }
  } catch (error) {
    restore();
    throw new JobError("weights_invalid", `the fine-tuned weights do not fit ${model.id}: ${(error as Error).message}`);
  }
  return restore;
}

export async function runGenerateJob(context: JobContext<GenerateJob>, deps: GenerateJobDeps): Promise<JobSuccess> {
  const { job, events, uploads } = context;
  const { params } = job;
  const workDir = path.join(deps.workDir, `${job.job_id}-${job.attempt}`);
  await mkdir(workDir, { recursive: true });
  const model = await deps.model(job.base_model);
  if (params.width % model.vaeScaleFactor !== 0 || params.height % model.vaeScaleFactor !== 0) {
    throw new JobError("invalid_size", `width and height must be multiples of ${model.vaeScaleFactor} for ${model.id}`);
  }
  const detach = await applyWeights(context, model, workDir);
  const started = Date.now();
  try {
    for (let index = 0; index < params.num_images; index++) {
      context.checkpoint();
      events.progress({ phase: "generating", step: index, total_steps: params.num_images });
      const seed = (params.seed + index) % 2 ** 32;
      const image = await generate(model, {
        prompt: params.prompt,
        negativePrompt: params.negative_prompt,
        seed,
        steps: params.steps,
        guidanceScale: params.guidance_scale,
        scheduler: params.scheduler,
        width: params.width,
        height: params.height,
        loraScale: params.lora_scale,
        onProgress: () => context.checkpoint(),
      });
      await uploads.upload({
        name: `images/${String(index).padStart(2, "0")}-${seed}.png`,
        bytes: await encodePng(image),
        contentType: "image/png",
        format: "image",
        meta: { width: image.width, height: image.height, seed, index },
      });
    }
    events.progress({ phase: "generating", step: params.num_images, total_steps: params.num_images });
    return { metrics: { images: params.num_images, ms_per_image: (Date.now() - started) / params.num_images } };
  } finally {
    detach();
    await rm(workDir, { recursive: true, force: true });
  }
}
