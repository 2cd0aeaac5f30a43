/**
 * The training step's speed-ups, each behind a switch so its gain is measured A/B in one run
 * (`npm run bench:model` times the step with each one off) and so a numeric difference can be bisected.
 * All are on by default; `SPEED_SWITCHES_OFF` (a comma list of names, or `all`) turns some off at start.
 * Every switch changes how a result is computed, never what it is: each is checked against the cpu
 * backend's composed ops in its module's tests.
 */
export const SPEED_SWITCHES = {
  noCopy: "wasm Identity and same-dtype Cast share the input's memory instead of copying it",
  lightSaves: "tensors a kernel saves for its gradient are new handles on the same data, not clones run as kernels with two tape nodes each (light-saves.ts)",
  transposeFree: "batched and transposed products run on views of the wasm heap (no per-matrix copies) and transpose in JavaScript, not with wasm's Transpose",
  packActivations: "a product with a weight matrix as bᵀ, and a convolution and its input gradient at small sizes, make XNNPACK pack the activations, not the weight it would repack every step; a convolution's filter gradient at small sizes is an im2col product over the real output positions, not the padded grid (wasm-matmul.ts, conv-gradients.ts)",
  fusedLinear: "a linear layer (reshape, fused product, reshape) as one tf.customGrad with a two-product backward (linear.ts)",
  fusedAttention: "attention forward and backward as one tf.customGrad (attention.ts)",
  fusedGroupNormSilu: "GroupNorm and GroupNorm+SiLU as one kernel each way (group-norm.ts)",
  fusedLayerNorm: "LayerNorm as one kernel each way (layer-norm.ts)",
  fusedGeglu: "the GEGLU gate as one kernel each way (geglu.ts)",
  fusedAdamW: "the optimizer step as one kernel per parameter, the gradient norm as one per gradient (optimizer.ts)",
  wasmSimd: "those two kernels as WebAssembly SIMD loops on the wasm heap instead of JavaScript loops (wasm-simd.ts)",
} as const;

export type SpeedSwitch = keyof typeof SPEED_SWITCHES;
export type SpeedSwitches = Record<SpeedSwitch, boolean>;

export const SPEED_SWITCH_NAMES = Object.keys(SPEED_SWITCHES) as SpeedSwitch[];

/** The switches an `SPEED_SWITCHES_OFF` value leaves on. */
export function switchesFromEnv(off: string | undefined): SpeedSwitches {
  const names = (off ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (name !== "all" && !(name in SPEED_SWITCHES)) throw new Error(`SPEED_SWITCHES_OFF: unknown switch ${name} (known: all, ${SPEED_SWITCH_NAMES.join(", ")})`);
  }
  return Object.fromEntries(SPEED_SWITCH_NAMES.map((name) => [name, !names.includes("all") && !names.includes(name)])) as SpeedSwitches;
}

const current: SpeedSwitches = switchesFromEnv(process.env.SPEED_SWITCHES_OFF);

export function switchOn(name: SpeedSwitch): boolean {
  return current[name];
}

/** The switches as they are now (a copy), e.g. to hand to a worker replica. */
export function speedSwitches(): SpeedSwitches {
  return { ...current };
}

export function setSpeedSwitches(changes: Partial<SpeedSwitches>): void {
  Object.assign(current, changes);
}
