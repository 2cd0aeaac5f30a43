/**
 * A stage's training time over all its sittings: the seconds its last checkpoint recorded plus this
 * sitting's, whole seconds (what a checkpoint stores and the model card quotes).
 */
export function sittingClock(secondsBefore: number): () => number {
  const resumedAt = Date.now();
  return () => Math.round(secondsBefore + (Date.now() - resumedAt) / 1000);
}

/**
 * A one-line progress report for long CPU runs: step, smoothed loss, seconds per step and the time
 * left, redrawn in place on a terminal and printed every `every` steps when logging to a file.
 */
export class Progress {
  private smoothed: number | undefined;
  private readonly started = Date.now();
  private readonly firstStep: number;

  constructor(
    private readonly label: string,
    private readonly total: number,
    startStep: number,
    private readonly every = 10,
  ) {
    this.firstStep = startStep;
  }

  update(step: number, loss: number, extra = ""): void {
    this.smoothed = this.smoothed === undefined ? loss : 0.95 * this.smoothed + 0.05 * loss;
    const done = step - this.firstStep;
    const perStep = (Date.now() - this.started) / 1000 / Math.max(1, done);
    const left = Math.round((perStep * (this.total - step)) / 60);
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const line =
      `${this.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${step}/${this.total}` +
      ` loss ${this.smoothed.toFixed(4)} ${perStep.toFixed(2)} s/step ETA ${left} min ${extra}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
    else if (step % this.every === 0 || step === this.total) process.stderr.write(`${line}\n`);
  }

  get smoothedLoss(): number {
    return this.smoothed ?? NaN;
  }
}
