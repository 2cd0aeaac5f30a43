/**
 * The base models a job may start from and the facts the Worker needs about them
 * (the native resolution that training and generation default to). The weights
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
   * gpu-backend/models/tiny-emoji with a judge that grades each training (`quality`).
   */
  "tiny-emoji": { resolution: 32 },
  /** Random-weight SD 1.x at tiny widths that the GPU backend creates at first start (CPU dry runs, tests). */
  "tiny-random": { resolution: 32 },
} as const;

export type BaseModelName = keyof typeof BASE_MODELS;
export const BASE_MODEL_NAMES = Object.keys(BASE_MODELS) as [BaseModelName, ...BaseModelName[]];

const isBaseModelName = (name: string): name is BaseModelName => Object.hasOwn(BASE_MODELS, name);

/** The base model a request names, else the deployment's default, which must be one we know. */
export function chooseBaseModel(requested: BaseModelName | undefined, env: Pick<Env, "DEFAULT_BASE_MODEL">): BaseModelName {
  const name = requested ?? env.DEFAULT_BASE_MODEL;
  if (!isBaseModelName(name)) {
    throw new ApiError(503, "misconfigured", `DEFAULT_BASE_MODEL "${name}" is not one of ${BASE_MODEL_NAMES.join(", ")}`);
  }
  return name;
}
