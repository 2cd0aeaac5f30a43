/**
 * Which weights a DreamBooth run trains, and how the shared base model is given
 * back untouched afterwards. Base models stay loaded between jobs, so LoRA
 * adapters are attached for the run and detached after it, and a full fine-tune
 * snapshots the weights it changes and restores them when the job ends.
 * Trainable variables are named `unet.<…>` / `text_encoder.<…>` so checkpoints
 * and optimizer state address them the same way on every attempt.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TrainJob } from "../../../shared/job.js";
import type { ClipTextModel } from "../model/clip-text.js";
import { createLora, disposeLora, LORA_TARGETS } from "../model/lora.js";
import { setTrainable, type ParamStore } from "../model/params.js";
import type { UNet2DConditionModel } from "../model/unet.js";
import type { LoraComponent, LoraTargets } from "./lora-files.js";

export interface TrainableWeights {
  variables: Map<string, tf.Variable>;
  /** The adapters, for LoRA runs (what the LoRA exports write). */
  lora?: LoraTargets;
  /** What was attached, so a data-parallel replica can attach the same weights to its own networks. */
  choice: TrainingChoice;
  /** Detaches adapters or restores the base weights; call once when the job ends. */
  release(): void;
}

export interface TrainableNetworks {
  unet: UNet2DConditionModel;
  textEncoder: ClipTextModel;
}

export type TrainingChoice = Pick<TrainJob["params"], "method" | "lora_rank" | "lora_alpha" | "train_text_encoder" | "seed">;

function components(networks: TrainableNetworks, withTextEncoder: boolean): [LoraComponent, ParamStore][] {
  const list: [LoraComponent, ParamStore][] = [["unet", networks.unet.params]];
  if (withTextEncoder) list.push(["text_encoder", networks.textEncoder.params]);
  return list;
}

export function attachTrainableWeights(networks: TrainableNetworks, params: TrainingChoice): TrainableWeights {
  const { method, lora_rank, lora_alpha, train_text_encoder, seed } = params;
  const choice: TrainingChoice = { method, lora_rank, lora_alpha, train_text_encoder, seed };
  const variables = new Map<string, tf.Variable>();
  const chosen = components(networks, params.train_text_encoder);
  if (params.method === "lora") {
    const lora: LoraTargets = {};
    for (const [component, store] of chosen) {
      const targets = component === "unet" ? [LORA_TARGETS.attention] : [LORA_TARGETS.textAttention];
      const set = createLora(store, { rank: params.lora_rank, alpha: params.lora_alpha, targets, seed: params.seed });
      store.lora = set;
      lora[component] = { store, lora: set };
      for (const [path, adapter] of set.adapters) {
        variables.set(`${component}.${path}.lora_down`, adapter.down);
        variables.set(`${component}.${path}.lora_up`, adapter.up);
      }
    }
    return {
      variables,
      lora,
      choice,
      release() {
        for (const [, store] of chosen) {
          if (store.lora) disposeLora(store.lora);
          store.lora = undefined;
        }
      },
    };
  }
  const restore = snapshotWeights(chosen.map(([, store]) => store));
  for (const [component, store] of chosen) {
    setTrainable(store, true);
    for (const [name, { variable }] of store.params) variables.set(`${component}.${name}`, variable);
  }
  return {
    variables,
    choice,
    release() {
      restore();
      for (const [, store] of chosen) setTrainable(store, false);
    },
  };
}

/** Copies the stores' weights aside; the returned function puts them back (once). */
export function snapshotWeights(stores: ParamStore[]): () => void {
  const snapshots = stores.flatMap((store) => [...store.params.values()].map(({ variable }) => [variable, tf.clone(variable)] as const));
  return () => {
    for (const [variable, original] of snapshots.splice(0)) {
      variable.assign(original);
      original.dispose();
    }
  };
}
