/**
 * Training and sampling progress read from a Replicate job's logs. Replicate
 * reports no step counter of its own; cog trainers print tqdm bars
 * (`# PTI :step: 450, epoch: 12:  45%|████▌     | 450/1000 [02:13<02:43, 3.37it/s, loss=0.0821]`).
 * Preprocessing prints bars of its own (captioning, masking), so only a bar whose
 * total is the number of steps we asked for counts. Pure, and tolerant of the
 * carriage returns tqdm uses to redraw a bar in place.
 */
export interface LogProgress {
  step: number;
  total: number;
  loss?: number;
}

const BAR = /(\d+)%\|[^|]*\|\s*(\d+)\/(\d+)/;
const LOSS = /\bloss[=:]\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)/;

/** The latest bar in `logs` that counts `expectedTotal` steps, or null when there is none yet. */
export function parseLogProgress(logs: string | null | undefined, expectedTotal: number): LogProgress | null {
  if (!logs) return null;
  const lines = logs.split(/[\r\n]+/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const bar = BAR.exec(line);
    if (!bar || Number(bar[3]) !== expectedTotal) continue;
    const step = Math.min(Number(bar[2]), expectedTotal);
    const loss = LOSS.exec(line);
    return loss ? { step, total: expectedTotal, loss: Number(loss[1]) } : { step, total: expectedTotal };
  }
  return null;
}
