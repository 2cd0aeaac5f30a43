/**
 * Retrying `fetch` with exponential backoff for calls back to the Worker. The
 * callback endpoint may be briefly down (deploy, restart); a lost event or upload
 * would leave a job stuck, so network errors, 5xx, 408 and 429 are retried until a
 * deadline, while other 4xx are final: the Worker rejected the message itself.
 */
export interface RetryPolicy {
  /** First delay; each retry doubles it up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up after this much time in total. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 250, maxDelayMs: 8_000, maxElapsedMs: 10 * 60_000 };

export class RetryExhausted extends Error {
  constructor(
    readonly url: string,
    readonly lastProblem: string,
  ) {
    super(`gave up calling ${url}: ${lastProblem}`);
    this.name = "RetryExhausted";
  }
}

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Delay before retry number `retry` (0-based), capped. */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
}

/**
 * Calls `makeRequest` (a fresh Request each time, so bodies and signatures are
 * new) until it gets a response that is not retryable. Returns that response,
 * which may still be a final 4xx for the caller to judge.
 */
export async function fetchWithRetry(
  url: string,
  makeRequest: () => Promise<RequestInit>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<Response> {
  const started = Date.now();
  let lastProblem = "no attempt made";
  for (let retry = 0; ; retry++) {
    try {
      const response = await fetch(url, await makeRequest());
      if (!isRetryableStatus(response.status)) return response;
      lastProblem = `HTTP ${response.status}`;
      await response.body?.cancel();
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    const delay = backoffDelay(policy, retry);
    if (Date.now() - started + delay > policy.maxElapsedMs) throw new RetryExhausted(url, lastProblem);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
