/**
 * Data-parallel training on every core. tfjs-wasm computes on one thread, and its threaded build loses
 * on two vCPUs (the pool spins and wakes on every op), so the parallelism is one level up: N replicas,
 * each a whole tfjs of its own, compute the gradient of their share of the batch, and the gradients are
 * summed once per step. The trainer's own thread is replica 0; the others are worker threads started
 * here. Summation runs in a fixed order (replica 0, 1, …), so the same seed and replica count give the
 * same weights; one replica starts no thread and is exactly the single-threaded trainer.
 */
import { availableParallelism } from "node:os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { tensorValues } from "../tensor/js-kernel.js";
import { REPLICA_STATUS, type ReplicaBuffers, type ReplicaSpec, type ReplicaWorkerData } from "./replica-protocol.js";
import type { Shard } from "./shard.js";

/** How long the trainer waits for a replica's gradient before it calls the replica lost. */
const REPLICA_TIMEOUT_MS = 30 * 60_000;

/**
 * Replicas a training uses: `TRAIN_WORKERS`, else one per core; one on the `tensorflow` backend, whose
 * device already runs each op in parallel and holds one copy of the model.
 */
export function trainingWorkers(env: NodeJS.ProcessEnv = process.env, backend = tf.getBackend()): number {
  const requested = env.TRAIN_WORKERS?.trim();
  if (requested) {
    const count = Number(requested);
    if (!Number.isInteger(count) || count < 1) throw new Error(`TRAIN_WORKERS=${requested} is not a positive integer`);
    return count;
  }
  return backend === "tensorflow" ? 1 : availableParallelism();
}

/**
 * The V8 flag every entry that trains starts node with (`npm run start:backend`, `pretrain`, the benchmarks,
 * `npm start`, the image). V8 scavenges a heap with helper threads; with every core running a replica, one
 * replica's helpers take the core of another, which then finishes its shard late while the whole step waits.
 * Alternating processes, 2 replicas on one 4 + 4 batch of the tiny UNet: × 1.66 samples/s over one replica
 * with the flag against × 1.53 without (6 runs each, load 0.7–1.7 on 2 cores; another day × 1.58 against
 * × 1.47, 10 and 16 runs), one replica unchanged. It can only be given at start: `NODE_OPTIONS` refuses it,
 * and setting it at run time crashed V8.
 */
export const SINGLE_THREADED_GC = "--single-threaded-gc";

/** Whether node was started with SINGLE_THREADED_GC. */
export function singleThreadedGc(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.includes(SINGLE_THREADED_GC);
}

/** How this process trains, for its start-up line; names the flag when replicas would run without it. */
export function trainingThreadsNote(workers: number, execArgv: readonly string[] = process.execArgv): string {
  if (workers === 1) return "1 training replica";
  return singleThreadedGc(execArgv)
    ? `${workers} training replicas, single-threaded GC`
    : `${workers} training replicas; start node with ${SINGLE_THREADED_GC} for ~8 % more samples/s`;
}

/**
 * Fewest examples of a step a replica is given. With one each, two replicas trained the embedded model
 * no faster than one (× 0.99–1.01 samples/s at 1 subject + 1 class example a step; × 1.13 at 2 + 2,
 * × 1.38 at 4 + 4, × 1.5 at 8 + 8): a network this small costs nearly as much at batch 1 as at batch 2,
 * and every replica holds another copy of the model.
 */
export const MIN_EXAMPLES_PER_REPLICA = 2;

/** Replicas a step of `examples` examples is split over: at most `workers`, each with at least MIN_EXAMPLES_PER_REPLICA. */
export function replicasFor(examples: number, workers: number): number {
  return Math.max(1, Math.min(workers, Math.floor(examples / MIN_EXAMPLES_PER_REPLICA)));
}

/**
 * The environment of one of `processes` training processes started side by side (the benchmark's
 * `--jobs`): the cores are shared out (`TRAIN_WORKERS` = cores ÷ processes, at least 1) unless the
 * caller set `TRAIN_WORKERS` itself. Left to default, each process started a replica per core: two
 * processes ran four threads on two cores and a prior-preservation step took 1.8× as long.
 */
export function sideBySideEnv(processes: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): NodeJS.ProcessEnv {
  if (env.TRAIN_WORKERS?.trim()) return env;
  return { ...env, TRAIN_WORKERS: String(Math.max(1, Math.floor(cores / processes))) };
}

interface Replica {
  worker: Worker;
  errors: MessagePort;
}

export class ReplicaPool {
  private readonly replicas: Replica[];
  private readonly weights: Float32Array;
  private readonly gradients: Float32Array;
  private readonly status: Int32Array;
  private readonly losses: Float64Array;

  /** Starts `count − 1` worker replicas of `spec`; they load in the background while the trainer goes on. */
  constructor(
    private readonly spec: ReplicaSpec,
    readonly count: number,
  ) {
    const workers = count - 1;
    const { total } = spec.layout;
    const buffers: ReplicaBuffers = {
      weights: new SharedArrayBuffer(total * 4),
      gradients: new SharedArrayBuffer(workers * total * 4),
      status: new SharedArrayBuffer(workers * 4),
      losses: new SharedArrayBuffer(workers * 8),
    };
    this.weights = new Float32Array(buffers.weights);
    this.gradients = new Float32Array(buffers.gradients);
    this.status = new Int32Array(buffers.status);
    this.losses = new Float64Array(buffers.losses);
    const entry = new URL("./replica-worker.ts", import.meta.url).href;
    this.replicas = Array.from({ length: workers }, (_, index) => {
      const { port1, port2 } = new MessageChannel();
      const workerData: ReplicaWorkerData = { spec, buffers, index, errors: port2, entry };
      const worker = new Worker(new URL("./replica-worker.mjs", import.meta.url), { workerData, transferList: [port2] });
      // A pool someone forgot to dispose must not keep the process alive.
      worker.unref();
      return { worker, errors: port1 };
    });
  }

  /**
   * One step: publishes the current weights, hands shards 1… to the worker replicas, computes shard 0
   * with `local`, waits for the workers and returns the summed loss and gradients.
   */
  step(
    shards: Shard[],
    variables: Map<string, tf.Variable>,
    local: (shard: Shard) => { loss: number; gradients: Map<string, tf.Tensor> },
  ): { loss: number; gradients: Map<string, tf.Tensor> } {
    if (shards.length > this.count) throw new Error(`${shards.length} shards for ${this.count} replicas`);
    const { keys, offsets } = this.spec.layout;
    keys.forEach((key, i) => this.weights.set(tensorValues(variables.get(key)!), offsets[i]));
    shards.slice(1).forEach((shard, index) => {
      Atomics.store(this.status, index, REPLICA_STATUS.working);
      this.replicas[index].worker.postMessage(shard);
    });
    const own = local(shards[0]);
    for (let index = 0; index < shards.length - 1; index++) this.await(index);
    let loss = own.loss;
    for (let index = 0; index < shards.length - 1; index++) loss += this.losses[index];
    // Each worker's run is copied onto the backend and added there (SIMD on wasm): adding in JavaScript
    // took 50 ms a step for the embedded model's 4.2 M parameters, this 8. Same order, same rounding.
    const gradients = new Map<string, tf.Tensor>();
    keys.forEach((key, i) => {
      const gradient = own.gradients.get(key);
      if (!gradient) return;
      const runs = shards.slice(1).map((_, index) => {
        const start = index * this.spec.layout.total + offsets[i];
        return this.gradients.subarray(start, start + gradient.size);
      });
      const sum = tf.tidy(() => runs.reduce<tf.Tensor>((total, run) => tf.add(total, tf.tensor(run, gradient.shape, "float32")), gradient));
      gradients.set(key, sum);
      if (sum !== gradient) gradient.dispose();
    });
    return { loss, gradients };
  }

  private await(index: number): void {
    while (Atomics.load(this.status, index) === REPLICA_STATUS.working) {
      if (Atomics.wait(this.status, index, REPLICA_STATUS.working, REPLICA_TIMEOUT_MS) === "timed-out") {
        throw new Error(`training replica ${index + 1} did not answer within ${REPLICA_TIMEOUT_MS / 60_000} min`);
      }
    }
    if (Atomics.load(this.status, index) === REPLICA_STATUS.failed) {
      const message = receiveMessageOnPort(this.replicas[index].errors)?.message;
      throw new Error(`training replica ${index + 1} failed: ${message ?? "no message"}`);
    }
  }

  dispose(): void {
    for (const { worker, errors } of this.replicas) {
      errors.close();
      void worker.terminate();
    }
  }
}
