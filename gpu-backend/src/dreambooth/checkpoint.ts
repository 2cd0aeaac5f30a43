/**
 * Training checkpoints: everything a restarted attempt needs to continue as if it
 * had never stopped — the trainable weights, AdamW's moments and step count, the
 * training step and the random generator's state — in one safetensors file
 * (`param.<name>`, `adam_m.<name>`, `adam_v.<name>`, facts in the metadata). A
 * fingerprint of the job's training inputs guards against resuming a checkpoint
 * into a different job.
 */
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import { RandomStateSchema, type RandomState } from "../tensor/random.js";
import { SafetensorsReader, writeSafetensors, type TensorToWrite } from "../model/safetensors.js";
import type { AdamWState } from "./optimizer.js";

const CheckpointFactsSchema = z.object({
  step: z.number().int().nonnegative(),
  adam_step: z.number().int().nonnegative(),
  random: RandomStateSchema,
  fingerprint: z.string(),
  /** Training time up to this step, summed over the sittings that made it (pretraining stages record it). */
  seconds: z.number().nonnegative().optional(),
});
export type CheckpointFacts = z.infer<typeof CheckpointFactsSchema>;

export interface CheckpointContents {
  step: number;
  random: RandomState;
  fingerprint: string;
  /** Training time up to this step, over all sittings. */
  seconds?: number;
  /**
   * How AdamW's moments are stored: BF16 halves a pretraining checkpoint (so a stage's state can be
   * committed between sittings) at the cost of 8-bit mantissas in the moments only; weights stay F32.
   */
  momentDtype?: "F32" | "BF16";
}

function fromVariable(variable: tf.Variable, dtype: "F32" | "BF16" = "F32"): TensorToWrite {
  return { dtype, shape: variable.shape, data: async () => (await variable.data()) as Float32Array };
}

export async function writeCheckpoint(
  file: string,
  trainable: Map<string, tf.Variable>,
  optimizer: AdamWState,
  contents: CheckpointContents,
): Promise<void> {
  const tensors: [string, TensorToWrite][] = [];
  for (const [name, variable] of trainable) {
    tensors.push(
      [`param.${name}`, fromVariable(variable)],
      [`adam_m.${name}`, fromVariable(optimizer.firstMoment.get(name)!, contents.momentDtype)],
      [`adam_v.${name}`, fromVariable(optimizer.secondMoment.get(name)!, contents.momentDtype)],
    );
  }
  const facts: CheckpointFacts = {
    step: contents.step,
    adam_step: optimizer.step,
    random: contents.random,
    fingerprint: contents.fingerprint,
    ...(contents.seconds === undefined ? {} : { seconds: contents.seconds }),
  };
  await writeSafetensors(file, tensors, { dreambooth_checkpoint: JSON.stringify(facts) });
}

/** A checkpoint's facts (step, time, …), read from its header alone. */
export async function readCheckpointFacts(file: string): Promise<CheckpointFacts> {
  const reader = await SafetensorsReader.open(file);
  try {
    return checkpointFacts(reader);
  } finally {
    await reader.close();
  }
}

/** The facts in an open checkpoint's header. */
export const checkpointFacts = (reader: SafetensorsReader): CheckpointFacts =>
  CheckpointFactsSchema.parse(JSON.parse(reader.metadata.dreambooth_checkpoint ?? "null"));

/**
 * Restores weights and optimizer state in place and returns the step and
 * random state to continue from. Every trainable variable must be present with
 * its shape, or the checkpoint belongs to another configuration.
 */
export async function restoreCheckpoint(
  file: string,
  trainable: Map<string, tf.Variable>,
  optimizer: AdamWState,
  expectedFingerprint: string,
): Promise<CheckpointFacts> {
  const reader = await SafetensorsReader.open(file);
  try {
    const facts = checkpointFacts(reader);
    if (facts.fingerprint !== expectedFingerprint) {
      throw new Error("the checkpoint was made by a training with other inputs or parameters");
    }
    const restore = async (tensorName: string, variable: tf.Variable) => {
      const stored = await reader.read(tensorName);
      if (stored.shape.join(",") !== variable.shape.join(",")) {
        throw new Error(`checkpoint tensor ${tensorName} has shape [${stored.shape}], expected [${variable.shape}]`);
      }
      const values = tf.tensor(stored.data, variable.shape, "float32");
      variable.assign(values);
      values.dispose();
    };
    for (const [name, variable] of trainable) {
      await restore(`param.${name}`, variable);
      await restore(`adam_m.${name}`, optimizer.firstMoment.get(name)!);
      await restore(`adam_v.${name}`, optimizer.secondMoment.get(name)!);
    }
    optimizer.step = facts.adam_step;
    return facts;
  } finally {
    await reader.close();
  }
}
