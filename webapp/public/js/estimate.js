// @ts-check
/**
 * Price and duration of a training before it starts, from `GET /v1/models`:
 * the prices the account will be charged (functions/billing/pricing.ts) and the
 * base model's measured timing on the device the jobs run on. Pure.
 */

/**
 * @typedef {{ fixed_s: number, per_step_s: number, per_class_image_s: number }} Timing
 * @typedef {{ training: { lora: { base: number, per_step: number }, full: { base: number, per_step: number } } }} Prices
 */

/**
 * @param {{ steps: number, method: "lora" | "full", classImages: number }} training  classImages 0 without prior preservation
 * @param {{ prices: Prices, timing: Timing | null, free: boolean }} deployment  free: a test key's jobs cost nothing
 * @returns {{ price: number, seconds: number | null }}
 */
export function trainingEstimate({ steps, method, classImages }, { prices, timing, free }) {
  const price = free ? 0 : prices.training[method].base + prices.training[method].per_step * steps;
  const seconds = timing ? Math.round(timing.fixed_s + timing.per_step_s * steps + timing.per_class_image_s * classImages) : null;
  return { price, seconds };
}
