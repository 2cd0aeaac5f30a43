/**
 * A base model as the DreamBooth trainer and the generation job use it: the
 * model core's loaded Stable Diffusion folder plus the facts derived from it
 * once (native resolution, VAE scale, training noise schedule). The service's
 * model registry loads one per `base_model` id and keeps it between jobs; jobs
 * attach LoRA adapters or train weights in place and give them back.
 */
import { loadStableDiffusionPipeline, vaeScaleFactor, type StableDiffusion } from "../model/pipeline.js";
import { trainingNoiseSchedule } from "../model/schedulers/training.js";
import type { NoiseSchedule } from "./trainer.js";

export interface BaseModel extends StableDiffusion {
  id: string;
  /** Folder in the diffusers layout the model was loaded from (copied into full fine-tune exports). */
  directory: string;
  /** Native image size: the UNet's sample_size × the VAE's downscale factor. */
  resolution: number;
  /** Image pixels per latent pixel along each side. */
  vaeScaleFactor: number;
  schedule: NoiseSchedule;
}

export async function loadBaseModel(directory: string, id: string): Promise<BaseModel> {
  const model = await loadStableDiffusionPipeline(directory);
  const factor = vaeScaleFactor(model.vae);
  return {
    ...model,
    id,
    directory,
    vaeScaleFactor: factor,
    resolution: model.unet.config.sample_size * factor,
    schedule: trainingNoiseSchedule(model.scheduler),
  };
}
