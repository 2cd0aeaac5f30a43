/**
 * What the DreamBooth trainer and the generation job need from a loaded base
 * model: its three networks, how to tokenize a prompt, the training noise
 * schedule, and how to render an image with the model core's pipeline. The
 * service's model registry loads one per `base_model` id and keeps it between
 * jobs; jobs attach LoRA adapters or train weights in place and give them back.
 */
import type { ClipTextModel } from "../model/clip-text.js";
import type { UNet2DConditionModel } from "../model/unet.js";
import type { AutoencoderKL } from "../model/vae.js";
import type { SCHEDULERS } from "../../../shared/params.js";
import type { Pixels } from "./images.js";
import type { NoiseSchedule } from "./trainer.js";

export interface RenderRequest {
  prompt: string;
  negativePrompt?: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  scheduler: (typeof SCHEDULERS)[number];
  width: number;
  height: number;
}

export interface BaseModel {
  id: string;
  /** Folder in the diffusers layout the model was loaded from (copied into full fine-tune exports). */
  directory: string;
  /** Native image size (the UNet's sample_size × the VAE's downscale factor). */
  resolution: number;
  /** Image pixels per latent pixel along each side. */
  vaeScaleFactor: number;
  unet: UNet2DConditionModel;
  textEncoder: ClipTextModel;
  vae: AutoencoderKL;
  schedule: NoiseSchedule;
  /** Token ids padded to the text encoder's length, as CLIPTokenizer does for SD. */
  tokenize(prompt: string): Int32Array;
  /** One image from the current weights (adapters attached to the networks included). */
  render(request: RenderRequest): Promise<Pixels>;
}
