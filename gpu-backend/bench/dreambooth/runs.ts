/**
 * The benchmark's run kinds: the base model untouched, and DreamBooth as full fine-tuning and as LoRA,
 * each without and with prior preservation (λ = 1). `key` is what summary.json and results.json use,
 * `label` what the table shows.
 */
export type RunKey = "base" | "full" | "full+prior" | "lora" | "lora+prior";

export interface RunKind {
  key: RunKey;
  label: string;
  method?: "full" | "lora";
  priorWeight: number;
}

export const RUN_KINDS: readonly RunKind[] = [
  { key: "base", label: "base (no training)", priorWeight: 0 },
  { key: "full", label: "full, no prior", method: "full", priorWeight: 0 },
  { key: "full+prior", label: "full, prior λ=1", method: "full", priorWeight: 1 },
  { key: "lora", label: "LoRA, no prior", method: "lora", priorWeight: 0 },
  { key: "lora+prior", label: "LoRA, prior λ=1", method: "lora", priorWeight: 1 },
];
