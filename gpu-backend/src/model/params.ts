/**
 * Where a network's parameters live: one `Map` from the diffusers/transformers tensor name
 * ("down_blocks.0.resnets.1.conv1.weight") to a tf.Variable in our layout (conv HWIO, linear
 * [in, out]). Keeping the checkpoint's names as keys makes loading and saving a per-tensor layout
 * transform, and lets LoRA adapters be addressed by the same module paths diffusers LoRA files use.
 * Modules are built through a `Scope`, which prefixes names the way PyTorch's module tree does.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LoraSet } from "./lora.js";

/** How a tensor's layout differs from PyTorch's: conv OIHW↔HWIO, linear [out,in]↔[in,out], or not at all. */
export type ParamLayout = "conv" | "linear" | "plain";

export interface Param {
  variable: tf.Variable;
  layout: ParamLayout;
}

/** A module LoRA can wrap: a linear layer or a 1×1 convolution, both a matrix [in, out] over channels. */
export interface Projection {
  inFeatures: number;
  outFeatures: number;
}

/**
 * How fresh parameters are filled: zeros (cheap, before loading a checkpoint), PyTorch-like random,
 * or not at all — `shapes` only records each parameter's name and shape (in `declared`), so SD1.5's
 * layout can be inspected and tested without allocating its 860 M floats. Such a network cannot run.
 */
export type ParamInit = { kind: "zeros" } | { kind: "random"; seed: number } | { kind: "shapes" };

export class ParamStore {
  readonly params = new Map<string, Param>();
  /** Name → shape (our layout) and layout of every parameter the modules declared. */
  readonly declared = new Map<string, { shape: number[]; layout: ParamLayout }>();
  /** Module path → shape of every projection LoRA may wrap (filled as modules are built). */
  readonly projections = new Map<string, Projection>();
  /** The LoRA adapters forward passes consult; none by default. */
  lora: LoraSet | undefined = undefined;
  private created = 0;
  private placeholder: tf.Variable | undefined;

  constructor(readonly init: ParamInit = { kind: "random", seed: 0 }) {}

  /** Creates the variable `name`; `fanIn` > 0 draws U(±1/√fanIn) like PyTorch's default init. */
  create(name: string, shape: number[], layout: ParamLayout, fill: "fanIn" | "ones" | "zeros", fanIn = 0): tf.Variable {
    if (this.declared.has(name)) throw new Error(`parameter "${name}" is declared twice`);
    this.declared.set(name, { shape, layout });
    if (this.init.kind === "shapes") return (this.placeholder ??= tf.variable(tf.zeros([0]), false));
    const seed = this.init.kind === "random" ? this.init.seed * 100_003 + this.created++ : 0;
    const initial = tf.tidy(() => {
      if (fill === "ones") return tf.ones(shape);
      if (fill === "zeros" || this.init.kind === "zeros") return tf.zeros(shape);
      const bound = 1 / Math.sqrt(fanIn);
      return tf.randomUniform(shape, -bound, bound, "float32", seed);
    });
    // Frozen until a trainer says otherwise (see setTrainable), so optimizers never touch a network by accident.
    const variable = tf.variable(initial, false);
    initial.dispose();
    this.params.set(name, { variable, layout });
    return variable;
  }

  get variables(): tf.Variable[] {
    return [...this.params.values()].map((param) => param.variable);
  }

  get parameterCount(): number {
    return [...this.declared.values()].reduce((count, { shape }) => count + shape.reduce((a, b) => a * b, 1), 0);
  }

  dispose(): void {
    for (const variable of this.variables) variable.dispose();
    this.placeholder?.dispose();
    this.params.clear();
  }
}

/** A position in the module tree: `scope.child("resnets").child(0)` names params "resnets.0.*". */
export class Scope {
  constructor(
    readonly store: ParamStore,
    readonly path = "",
  ) {}

  child(name: string | number): Scope {
    return new Scope(this.store, this.path ? `${this.path}.${name}` : String(name));
  }

  param(name: string, shape: number[], layout: ParamLayout, fill: "fanIn" | "ones" | "zeros", fanIn = 0): tf.Variable {
    return this.store.create(this.child(name).path, shape, layout, fill, fanIn);
  }
}

/** Marks every parameter of a store trainable or frozen (full fine-tuning marks the UNet trainable). */
export function setTrainable(store: ParamStore, trainable: boolean): void {
  for (const variable of store.variables) variable.trainable = trainable;
}
