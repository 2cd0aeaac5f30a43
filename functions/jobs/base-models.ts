/**
 * The base models a job may start from and the facts the Worker needs about them
 * (the native resolution that training and generation default to, and learning rates where a model needs
 * its own). The weights
 * live with the GPU backend, one diffusers folder per id under its `MODELS_DIR`,
 * so these ids are the backend's folder names. Which one a request that names
 * none gets is the deployment's `DEFAULT_BASE_MODEL`: `sd15` on GPU hosts, the
 * embedded tiny model for `npm start` on a CPU.
 */
import { ApiError } from "../errors.js";

export const BASE_MODELS = {
  /** Stable Diffusion 1.5, the paper-era model DreamBooth is usually run on. */
  sd15: { resolution: 512 },
  /**
   * The embedded default: SD 1.x at tiny widths pretrained from scratch on emoji scenes (32 px), shipped in
   * gpu-backend/models/tiny-emoji with a judge that grades each training (`quality`). The paper's learning rates
   * (5e-6 full, 1e-4 LoRA) barely move a 4 M-parameter model: LoRA at 1e-4 for 300 steps left the benchmark dog
   * at −1.72 normalised fidelity (base −2.36), at 2e-3 it reached 0.14; the benchmark's rates are the defaults.
   */
  "tiny-emoji": { resolution: 32, learning_rate: { full: 2e-4, lora: 2e-3 } },
  /** Random-weight SD 1.x at tiny widths that the GPU backend creates at first start (CPU dry runs, tests). */
  "tiny-random": { resolution: 32 },
} as const;

export type BaseModelName = keyof typeof BASE_MODELS;
export const BASE_MODEL_NAMES = Object.keys(BASE_MODELS) as [BaseModelName, ...BaseModelName[]];

const isBaseModelName = (name: string): name is BaseModelName => Object.hasOwn(BASE_MODELS, name);

/** The base model a request names, else the deployment's default, which must be one we know. */
export function chooseBaseModel(requested: BaseModelName | undefined, env: { DEFAULT_BASE_MODEL: string }): BaseModelName {
  const name = requested ?? env.DEFAULT_BASE_MODEL;
  if (!isBaseModelName(name)) {
    throw new ApiError(503, "misconfigured", `DEFAULT_BASE_MODEL "${name}" is not one of ${BASE_MODEL_NAMES.join(", ")}`);
  }
  return name;
}
