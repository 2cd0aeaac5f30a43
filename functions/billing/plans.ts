/**
 * Plans: how fast one key may call (a token bucket: a sustained rate and a burst)
 * and how many jobs an account may have running at once. An account has one plan,
 * set by the operator; changing the numbers here changes every account on it.
 */
import { z } from "zod";

export type Plan = { requests_per_s: number; burst: number; concurrent_jobs: number };

export const PLANS = {
  free: { requests_per_s: 2, burst: 5, concurrent_jobs: 1 },
  standard: { requests_per_s: 50, burst: 100, concurrent_jobs: 10 },
  scale: { requests_per_s: 200, burst: 400, concurrent_jobs: 50 },
  /** Negotiated high-volume accounts; also what `npm run bench:api` measures under, so its numbers are never 429s. */
  enterprise: { requests_per_s: 2000, burst: 4000, concurrent_jobs: 200 },
} satisfies Record<string, Plan>;

export const PLAN_NAMES = Object.keys(PLANS) as [keyof typeof PLANS, ...(keyof typeof PLANS)[]];
export const PlanNameSchema = z.enum(PLAN_NAMES);
export type PlanName = z.infer<typeof PlanNameSchema>;

export interface Bucket {
  tokens: number;
  refilled_at: number;
}

export interface BucketDecision {
  allowed: boolean;
  /** The burst: requests a full bucket allows at once. */
  limit: number;
  /** Seconds an empty bucket takes to fill: the policy's window. */
  window_s: number;
  bucket: Bucket;
  /** Whole requests left in the burst after this one. */
  remaining: number;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retry_after_s: number;
  /** Seconds until the bucket is full again. */
  reset_s: number;
}

/** Refills the bucket for the time passed, then takes one token if there is one. */
export function takeToken(previous: Bucket | null, plan: Plan, now: number): BucketDecision {
  const elapsed = previous ? Math.max(0, now - previous.refilled_at) / 1000 : Infinity;
  const tokens = Math.min(plan.burst, (previous?.tokens ?? plan.burst) + elapsed * plan.requests_per_s);
  const allowed = tokens >= 1;
  const left = allowed ? tokens - 1 : tokens;
  return {
    allowed,
    limit: plan.burst,
    window_s: Math.ceil(plan.burst / plan.requests_per_s),
    bucket: { tokens: left, refilled_at: now },
    remaining: Math.floor(left),
    retry_after_s: allowed ? 0 : Math.ceil((1 - left) / plan.requests_per_s),
    reset_s: Math.ceil((plan.burst - left) / plan.requests_per_s),
  };
}
