/**
 * What the trainer and its worker-thread replicas share. Weights and gradients travel once per step
 * through `SharedArrayBuffer`s laid out by `variableLayout` (one flat float32 run per trainable variable,
 * in the trainer's key order); each replica owns one status cell the trainer blocks on with
 * `Atomics.wait`, so a training step stays a synchronous call. Everything here is plain data, cloned
 * into the worker once at start.
 */
import type { MessagePort } from "node:worker_threads";
import type { ClipTextConfig, UNetConfig } from "../model/config.js";
import type { UNetMemoryOptions } from "../model/unet.js";
import type { SpeedSwitches } from "../tensor/speed-switches.js";
import type { TrainingChoice } from "./trainable.js";

/** A replica's status cell: set to WORKING by the trainer, DONE or FAILED by the replica. */
export const REPLICA_STATUS = { working: 0, done: 1, failed: 2 } as const;

export interface VariableLayout {
  keys: string[];
  shapes: number[][];
  offsets: number[];
  /** Floats in one copy of all trainable variables. */
  total: number;
}

export function variableLayout(variables: Array<[string, number[]]>): VariableLayout {
  const offsets: number[] = [];
  let total = 0;
  for (const [, shape] of variables) {
    offsets.push(total);
    total += shape.reduce((a, b) => a * b, 1);
  }
  return { keys: variables.map(([key]) => key), shapes: variables.map(([, shape]) => shape), offsets, total };
}

/** Everything a worker needs to rebuild the trainer's networks and trainable weights. */
export interface ReplicaSpec {
  backend: string;
  /** The trainer's speed switches, so every replica computes the same way. */
  switches: SpeedSwitches;
  unetConfig: UNetConfig;
  /** The UNet's memory options for the run (checkpointing, attention chunks), as the trainer set them. */
  unetMemory: UNetMemoryOptions;
  textConfig: ClipTextConfig;
  /** Every parameter of both networks as the trainer holds them (the frozen base for LoRA). */
  weights: { unet: Record<string, Float32Array>; textEncoder: Record<string, Float32Array> };
  choice: TrainingChoice;
  latentShape: [number, number, number];
  layout: VariableLayout;
}

export interface ReplicaBuffers {
  /** The trainable weights, written by the trainer before each step. */
  weights: SharedArrayBuffer;
  /** One gradient run per worker replica, `layout.total` floats each. */
  gradients: SharedArrayBuffer;
  /** Int32 status cell per worker replica. */
  status: SharedArrayBuffer;
  /** Float64 loss per worker replica. */
  losses: SharedArrayBuffer;
}

/** workerData of one replica thread. */
export interface ReplicaWorkerData {
  spec: ReplicaSpec;
  buffers: ReplicaBuffers;
  index: number;
  /** Where the replica reports a failure's message (read synchronously by the trainer). */
  errors: MessagePort;
  /** The TypeScript module the bootstrap imports through tsx. */
  entry: string;
}
