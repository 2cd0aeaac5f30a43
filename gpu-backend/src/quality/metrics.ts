/**
 * DreamBench's numbers as pure functions of feature vectors, so they can be checked by hand:
 * subject fidelity is the mean cosine over every (generated, real) pair (DINO / CLIP-I in the paper),
 * PRES the same between class-prompt generations and the real subject, DIV the mean pairwise
 * distance 1 − cos among generations of one prompt (LPIPS in the paper), and runs over several seeds
 * are summarised as mean ± sample standard deviation. Subject fidelity is also given normalised between
 * two bounds measured on the same subject (see fidelity-bounds.ts), since raw cosines of one judge have
 * no fixed floor or ceiling.
 */

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine of vectors of lengths ${a.length} and ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/** Mean cosine over all pairs (x, y), x ∈ xs, y ∈ ys. */
export function meanCrossCosine(xs: ArrayLike<number>[], ys: ArrayLike<number>[]): number {
  if (xs.length === 0 || ys.length === 0) throw new Error("meanCrossCosine needs two non-empty sets");
  let total = 0;
  for (const x of xs) for (const y of ys) total += cosine(x, y);
  return total / (xs.length * ys.length);
}

/** Mean cosine over ordered pairs of different members of one set: how alike a set's members are to each other. */
export function meanOffDiagonalCosine(xs: ArrayLike<number>[]): number {
  if (xs.length < 2) throw new Error("meanOffDiagonalCosine needs at least two vectors");
  let total = 0;
  for (let i = 0; i < xs.length; i++) for (let j = 0; j < xs.length; j++) if (i !== j) total += cosine(xs[i], xs[j]);
  return total / (xs.length * (xs.length - 1));
}

/** The raw scores a subject fidelity is read between: a same-class stranger (`prior`) and the subject itself (`ceiling`). */
export interface FidelityBounds {
  prior: number;
  ceiling: number;
}

/** (s − s_prior) / (s_ceiling − s_prior): 0 = no more like the subject than another drawing of its class, 1 = as alike as the subject's own photos. */
export function normalisedFidelity(score: number, bounds: FidelityBounds): number {
  const range = bounds.ceiling - bounds.prior;
  if (!(range > 0)) throw new Error(`fidelity bounds give no range (prior ${bounds.prior}, ceiling ${bounds.ceiling})`);
  return (score - bounds.prior) / range;
}

/** Mean of 1 − cos over unordered pairs within one set (0 when every image looks the same). */
export function meanPairwiseDistance(xs: ArrayLike<number>[]): number {
  if (xs.length < 2) throw new Error("meanPairwiseDistance needs at least two vectors");
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      total += 1 - cosine(xs[i], xs[j]);
      pairs++;
    }
  }
  return total / pairs;
}

/** Fraction of positions where `predicted` equals `expected`. */
export function accuracy(predicted: number[], expected: number[]): number {
  if (predicted.length !== expected.length || predicted.length === 0) throw new Error("accuracy needs equal, non-empty lists");
  return predicted.filter((value, i) => value === expected[i]).length / predicted.length;
}

export interface Spread {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  std: number;
  n: number;
}

export function meanAndSpread(values: number[]): Spread {
  if (values.length === 0) throw new Error("meanAndSpread of no values");
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), n: values.length };
}

/** Index of the largest value of each row. */
export function argmaxRows(rows: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < rows.length; start += width) {
    let best = 0;
    for (let k = 1; k < width; k++) if (rows[start + k] > rows[start + best]) best = k;
    out.push(best);
  }
  return out;
}
