// Skewed distributions for the generator: Zipf-like popularity (a few head items, a long tail)
// and weighted choice by precomputed cumulative tables. Owns no randomness itself: every draw
// takes an Rng, so callers decide which stream a draw comes from. Tables are immutable after
// construction and may be shared by every stream of a run.
import type { Rng } from './rng.js';

/** Weights of ranks 1..n under Zipf's law with exponent s: w(r) = r^-s. */
export function zipfWeights(n: number, s: number): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = (r + 1) ** -s;
  return w;
}

/** Weighted choice of an index in O(log n) by binary search over cumulative weights. */
export class WeightedTable {
  private readonly cumulative: Float64Array;
  readonly size: number;

  constructor(weights: ArrayLike<number>) {
    if (weights.length === 0) throw new RangeError('WeightedTable needs at least one weight');
    this.size = weights.length;
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] as number;
      if (!(w >= 0)) throw new RangeError(`weight ${i} is ${w}; weights must be >= 0`);
      sum += w;
      this.cumulative[i] = sum;
    }
    if (!(sum > 0)) throw new RangeError('WeightedTable needs a positive total weight');
  }

  /** The total weight. */
  get total(): number {
    return this.cumulative[this.size - 1] as number;
  }

  /** Probability of index i. */
  probability(i: number): number {
    const hi = this.cumulative[i] as number;
    const lo = i === 0 ? 0 : (this.cumulative[i - 1] as number);
    return (hi - lo) / this.total;
  }

  /** A random index, chosen with probability proportional to its weight. */
  sample(rng: Rng): number {
    const target = rng.float() * this.total;
    let lo = 0;
    let hi = this.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** A Zipf(s) sampler over ranks 0..n-1 (rank 0 is the most popular). */
export function zipfTable(n: number, s: number): WeightedTable {
  return new WeightedTable(zipfWeights(n, s));
}

/**
 * Splits `total` into integer parts proportional to `weights` (largest-remainder method, ties
 * to the lower index), each part at least `minimum`. Deterministic: no randomness involved.
 */
export function allocate(total: number, weights: ArrayLike<number>, minimum = 0): Int32Array {
  const n = weights.length;
  const out = new Int32Array(n);
  const spare = total - minimum * n;
  if (spare < 0) throw new RangeError(`cannot give ${n} parts at least ${minimum} out of ${total}`);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += weights[i] as number;
  const remainders = new Float64Array(n);
  let given = 0;
  for (let i = 0; i < n; i++) {
    const exact = (spare * (weights[i] as number)) / sum;
    const whole = Math.floor(exact);
    out[i] = minimum + whole;
    remainders[i] = exact - whole;
    given += whole;
  }
  let left = spare - given;
  if (left > 0) {
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (x, y) => (remainders[y] as number) - (remainders[x] as number) || x - y,
    );
    for (let k = 0; left > 0; k = (k + 1) % n, left--) {
      const j = order[k] as number;
      out[j] = (out[j] as number) + 1;
    }
  }
  return out;
}
