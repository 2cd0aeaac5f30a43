/**
 * A small R2 object per attempt recording the Replicate id it started.
 * Replicate has no idempotency key for trainings or predictions, and the job
 * object retries a dispatch whose answer it lost, so the marker is what keeps a
 * retry from starting a second (billed) run. It also counts the polls in a row
 * that failed, which sets how long the job object waits before polling again.
 */
export interface DispatchMarker {
  id: string;
  poll_failures?: number;
}

interface Attempt {
  job_id: string;
  attempt: number;
}

function markerKey({ job_id, attempt }: Attempt): string {
  return `replicate/dispatches/${job_id}/attempt-${attempt}.json`;
}

export async function readDispatchMarker(bucket: R2Bucket, attempt: Attempt): Promise<DispatchMarker | null> {
  const object = await bucket.get(markerKey(attempt));
  return object ? object.json<DispatchMarker>() : null;
}

export async function writeDispatchMarker(bucket: R2Bucket, attempt: Attempt, marker: DispatchMarker): Promise<void> {
  await bucket.put(markerKey(attempt), JSON.stringify(marker), { httpMetadata: { contentType: "application/json" } });
}

/** Failed polls in a row double the wait, up to eight intervals; a `retry_after` is never cut short. */
export function pollBackoffMs(intervalMs: number, failuresInRow: number, retryAfterMs?: number): number {
  const backoff = intervalMs * Math.min(8, 2 ** failuresInRow);
  return Math.max(backoff, retryAfterMs ?? 0);
}
