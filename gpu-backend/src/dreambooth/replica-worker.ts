/**
 * A training replica in a worker thread: its own tfjs (so its own wasm heap and thread), its own copy
 * of the networks with the same trainable weights attached. For each step message it copies the
 * trainer's current weights out of shared memory, computes its shard's loss and gradient, writes the
 * gradient into its run of the shared gradient buffer and wakes the trainer. It never updates weights:
 * the one optimizer lives with the trainer.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { ClipTextModel } from "../model/clip-text.js";
import type { ParamStore } from "../model/params.js";
import { UNet2DConditionModel } from "../model/unet.js";
import { initTensorBackend } from "../tensor/backend.js";
import { tensorValues } from "../tensor/js-kernel.js";
import { setSpeedSwitches } from "../tensor/speed-switches.js";
import { REPLICA_STATUS, type ReplicaWorkerData } from "./replica-protocol.js";
import { shardGradients, type Shard } from "./shard.js";
import { attachTrainableWeights } from "./trainable.js";

const { spec, buffers, index, errors } = workerData as ReplicaWorkerData;
const status = new Int32Array(buffers.status);
const losses = new Float64Array(buffers.losses);
const weights = new Float32Array(buffers.weights);
const gradients = new Float32Array(buffers.gradients, index * spec.layout.total * 4, spec.layout.total);

function load(store: ParamStore, values: Record<string, Float32Array>): void {
  for (const [name, { variable }] of store.params) variable.assign(tf.tensor(values[name], variable.shape, "float32"));
}

async function start() {
  await initTensorBackend({ requested: spec.backend, log: () => {} });
  setSpeedSwitches(spec.switches);
  const unet = new UNet2DConditionModel(spec.unetConfig, { kind: "zeros" });
  unet.memory = spec.unetMemory;
  const textEncoder = new ClipTextModel(spec.textConfig, { kind: "zeros" });
  load(unet.params, spec.weights.unet);
  load(textEncoder.params, spec.weights.textEncoder);
  const trainable = attachTrainableWeights({ unet, textEncoder }, spec.choice);
  return { networks: { unet, textEncoder }, variables: trainable.variables };
}

const replica = start();

function step({ networks, variables }: Awaited<typeof replica>, shard: Shard): void {
  const { keys, shapes, offsets, total } = spec.layout;
  keys.forEach((key, i) => {
    const size = shapes[i].reduce((a, b) => a * b, 1);
    tf.tidy(() => variables.get(key)!.assign(tf.tensor(weights.subarray(offsets[i], offsets[i] + size), shapes[i], "float32")));
  });
  const result = shardGradients(networks, variables, shard, spec.latentShape);
  keys.forEach((key, i) => {
    const gradient = result.gradients.get(key);
    if (gradient) gradients.set(tensorValues(gradient), offsets[i]);
    else gradients.fill(0, offsets[i], i + 1 < keys.length ? offsets[i + 1] : total);
  });
  tf.dispose([...result.gradients.values()]);
  losses[index] = result.loss;
}

parentPort!.on("message", async (shard: Shard) => {
  try {
    step(await replica, shard);
    Atomics.store(status, index, REPLICA_STATUS.done);
  } catch (error) {
    errors.postMessage(error instanceof Error ? (error.stack ?? error.message) : String(error));
    Atomics.store(status, index, REPLICA_STATUS.failed);
  }
  Atomics.notify(status, index);
});
