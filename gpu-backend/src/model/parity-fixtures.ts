/**
 * Test support for the networks: access to the PyTorch reference outputs in `../shared/parity`
 * (beside the repository root, see its README), the one metric parity uses (relative L2 error
 * accumulated in float64), and switching the tfjs backend a test runs on. Missing fixtures fail
 * loudly, never skip: parity is what proves real checkpoints load right.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe } from "vitest";
import { registerTrainingKernels } from "../tensor/backend.js";
import { readSafetensors, type HostTensor } from "./safetensors.js";

/** The backends parity is checked on: cpu is tfjs' reference, wasm is what trains here. */
export const PARITY_BACKENDS = ["cpu", "wasm"] as const;

/** Makes `name` the current backend, with the gradients training needs registered. */
export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  registerTrainingKernels();
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} did not start`);
}

/** A describe block run once per parity backend, returning to wasm (the tests' default) afterwards. */
export function describeOnParityBackends(title: string, body: (backend: (typeof PARITY_BACKENDS)[number]) => void): void {
  describe.each(PARITY_BACKENDS)(`${title} on %s`, (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(async () => {
      await useBackend("wasm");
    });
    body(backend);
  });
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * `../shared/parity` beside the clone (CI's layout); a checkout nested deeper (a worktree) finds the
 * nearest such folder further up.
 */
function findParityRoot(): string | undefined {
  for (let dir = path.dirname(repoRoot); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "shared", "parity");
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The folder of one parity network; throws a message saying where the fixtures are expected. */
export function parityDir(network: "unet_sd15_4lvl" | "vae_tiny_g8" | "clip_text_tiny"): string {
  const root = findParityRoot();
  const dir = root && path.join(root, network);
  if (!dir || !existsSync(dir)) {
    throw new Error(
      `parity fixtures ${network} not found: expected ${path.resolve(repoRoot, "../shared/parity", network)} (the shared/ folder beside the repository clone)`,
    );
  }
  return dir;
}

export async function readFixture(dir: string, file: string): Promise<Map<string, HostTensor>> {
  return readSafetensors(path.join(dir, file));
}

export function fixtureTensor(tensors: Map<string, HostTensor>, name: string): tf.Tensor {
  const host = tensors.get(name);
  if (!host) throw new Error(`fixture tensor "${name}" not found (have: ${[...tensors.keys()].join(", ")})`);
  return tf.tensor(host.data, host.shape, host.dtype);
}

/** ‖ours − reference‖ / ‖reference‖, summed in float64 so the metric itself adds no float32 noise. */
export function relativeL2(ours: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (ours.length !== reference.length) throw new Error(`length ${ours.length} vs reference ${reference.length}`);
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    difference += (ours[i] - reference[i]) ** 2;
    norm += reference[i] ** 2;
  }
  return Math.sqrt(difference / norm);
}

export const nchwToNhwc = (x: tf.Tensor) => x.transpose([0, 2, 3, 1]);
export const nhwcToNchw = (x: tf.Tensor) => x.transpose([0, 3, 1, 2]);
