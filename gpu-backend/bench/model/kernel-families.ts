/**
 * Where a training step's time goes, by kernel family, from one `tf.profile` of the step. Op wrappers
 * (`tf.customGrad` ops such as `fusedConv2d__op`, and "unnamed scope") contain the kernels they run, which
 * the profile also lists, so they are left out of the sums. What the step took beyond the kernels' own
 * time is the tape, the engine and JavaScript between kernels.
 */
export const FAMILIES = ["matMul", "elementwise", "copies", "reductions", "conv", "fused", "outside"] as const;
export type Family = (typeof FAMILIES)[number];

export const FAMILY_LABELS: Record<Family, string> = {
  matMul: "matMul / BatchMatMul",
  elementwise: "elementwise",
  copies: "transpose / reshape / concat / Identity copies",
  reductions: "reductions (norm statistics, bias grads)",
  conv: "conv dW + dx + forward",
  fused: "fused JS kernels (norms, GEGLU, AdamW)",
  outside: "tape / engine / JS outside kernels",
};

const BY_NAME: Record<string, Family> = {
  BatchMatMul: "matMul",
  _FusedMatMul: "matMul",
  Conv2D: "conv",
  FusedConv2D: "conv",
  Conv2DBackpropInput: "conv",
  Conv2DBackpropFilter: "conv",
  Sum: "reductions",
  Mean: "reductions",
  Max: "reductions",
  Min: "reductions",
  Prod: "reductions",
};
const COPIES = new Set(["Transpose", "Reshape", "Concat", "Identity", "Cast", "Slice", "SplitV", "PadV2", "Pad", "Tile", "Pack", "Unpack", "StridedSlice", "GatherV2", "Fill", "ZerosLike", "OnesLike", "BroadcastTo", "ResizeNearestNeighbor", "ResizeNearestNeighborGrad", "UnsortedSegmentSum"]);

/** The family of a profiled kernel, or undefined for an op wrapper whose kernels are listed on their own. */
export function kernelFamily(name: string): Family | undefined {
  if (name.endsWith("__op") || name === "unnamed scope") return undefined;
  if (name.startsWith("Dreambooth")) return "fused";
  return BY_NAME[name] ?? (COPIES.has(name) ? "copies" : "elementwise");
}

export interface StepProfile {
  stepMs: number;
  kernels: number;
  /** Milliseconds per family; `outside` is the step's time not spent in any kernel (never negative). */
  ms: Record<Family, number>;
}

export function profileByFamily(kernels: Array<{ name: string; kernelTimeMs: number }>, stepMs: number): StepProfile {
  const ms = Object.fromEntries(FAMILIES.map((family) => [family, 0])) as Record<Family, number>;
  let counted = 0;
  for (const { name, kernelTimeMs } of kernels) {
    const family = kernelFamily(name);
    if (!family) continue;
    ms[family] += kernelTimeMs;
    counted++;
  }
  const inKernels = FAMILIES.reduce((sum, family) => sum + ms[family], 0);
  ms.outside = Math.max(0, stepMs - inKernels);
  return { stepMs, kernels: counted, ms };
}
