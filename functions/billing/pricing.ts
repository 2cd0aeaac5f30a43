/**
 * What a job costs, in credits, in one place: a training by method and steps, a
 * generation per image. Prices are whole credits so the ledger adds integers and
 * never rounds. Test keys pay nothing, so an integration can be built for free.
 */
import type { KeyMode } from "../accounts/api-keys.js";
import type { NewJobRecord } from "../jobs/record.js";

export const PRICES = {
  training: {
    lora: { base: 200, per_step: 1 },
    full: { base: 1000, per_step: 4 },
  },
  generation: { per_image: 10 },
} as const;

export function priceOf(record: NewJobRecord, mode: KeyMode): number {
  if (mode === "test") return 0;
  if (record.kind === "generate") return PRICES.generation.per_image * record.params.num_images;
  const price = PRICES.training[record.params.method];
  return price.base + price.per_step * record.params.steps;
}
