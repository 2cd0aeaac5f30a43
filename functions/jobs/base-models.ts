/**
 * The base models a job may start from and the facts the Worker needs about them
 * (the native resolution that training and generation default to). The weights
 * themselves live with the GPU backend under `models/<id>/`.
 */
export const BASE_MODELS = {
  /** Stable Diffusion 1.5, the paper-era model DreamBooth is usually run on. */
  sd15: { resolution: 512 },
  /** A tiny SD-shaped network for CPU dry runs and tests. */
  tiny: { resolution: 64 },
} as const;

export type BaseModelName = keyof typeof BASE_MODELS;
export const BASE_MODEL_NAMES = Object.keys(BASE_MODELS) as [BaseModelName, ...BaseModelName[]];
export const DEFAULT_BASE_MODEL: BaseModelName = "sd15";
