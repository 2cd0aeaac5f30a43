/**
 * The deployment's base models as a caller sees them: which backend their jobs
 * run on (a test key's always on `fake`) and on what device, the default model,
 * the prices, and each model's facts (base-model-facts.ts) with the timing of that
 * device only. One answer holds everything a client needs to say, before a
 * training starts, what it will cost, how long it will take and what to ask for.
 */
import type { Caller } from "../caller.js";
import { chooseBackend } from "../backends/choose.js";
import { PRICES } from "../billing/pricing.js";
import { BASE_MODEL_FACTS, type BackendDevice } from "./base-model-facts.js";
import { BASE_MODEL_NAMES, BASE_MODELS, chooseBaseModel } from "./base-models.js";
import type { BaseModelList } from "./base-model-schema.js";

/** The container backend runs where GPU_BACKEND_DEVICE says; Replicate on GPUs; the fake backend runs no model. */
function deviceOf(backend: string, env: Pick<Env, "GPU_BACKEND_DEVICE">): BackendDevice | null {
  if (backend === "fake") return null;
  if (backend === "container") return env.GPU_BACKEND_DEVICE === "cpu" ? "cpu" : "gpu";
  return "gpu";
}

export function baseModelCatalog({ env, keyMode }: Pick<Caller, "env" | "keyMode">): BaseModelList {
  const backend = chooseBackend({ keyMode, env });
  const device = deviceOf(backend, env);
  const defaultModel = chooseBaseModel(undefined, env);
  return {
    backend: { name: backend, device },
    default_base_model: defaultModel,
    prices: PRICES,
    items: BASE_MODEL_NAMES.map((id) => {
      const { timing, ...facts } = BASE_MODEL_FACTS[id];
      return {
        id,
        default: id === defaultModel,
        resolution: BASE_MODELS[id].resolution,
        ...facts,
        timing: (device && timing[device]) ?? null,
      };
    }),
  };
}
