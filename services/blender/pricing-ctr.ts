// Ranking and GSP pricing by expected revenue (issue 13): score = bid x pCTR, where pCTR is the
// click model's position-normalized rate (learner/), as an integer in parts per million so the
// arithmetic stays exact. For the ad at position i with a competitor at i+1:
//   price_i = min(bid_i, roundUpToStep(max(reserve, ceil(score_{i+1} / ctrPpm_i)) + step))
// the smallest price at which ad i's expected revenue per impression still reaches the next ad's,
// plus one step, never below the reserve, never above its own bid: the same rule as pricing.ts
// with pCTR in place of quality x match weight. Scores are bid x ppm <= 1e9 x 1e6 < 2^53.
// Pure functions; no I/O, no state.
import { ceilDiv, roundUpToStep } from '../../core/money.js';
import type { PricingRule } from './pricing.js';

/** pCTR in parts per million, clamped to 1..1,000,000 (every ad keeps a non-zero score). */
export function ctrToPpm(pctr: number): number {
  if (!Number.isFinite(pctr)) throw new RangeError(`pCTR must be finite, got ${pctr}`);
  return Math.min(1_000_000, Math.max(1, Math.round(pctr * 1_000_000)));
}

export interface CtrRankable {
  readonly offerId: string;
  readonly bidMicros: number;
  /** The model's pCTR at the reference position, in ppm (ctrToPpm). */
  readonly ctrPpm: number;
}

/** bid x pCTR, exact. */
export function ctrScore(ad: CtrRankable): number {
  return ad.bidMicros * ad.ctrPpm;
}

/** Expected revenue descending, then pCTR descending, then offer id ascending (a total order). */
export function compareByCtr(a: CtrRankable, b: CtrRankable): number {
  const sa = ctrScore(a);
  const sb = ctrScore(b);
  if (sa !== sb) return sb - sa;
  if (a.ctrPpm !== b.ctrPpm) return b.ctrPpm - a.ctrPpm;
  return a.offerId < b.offerId ? -1 : a.offerId > b.offerId ? 1 : 0;
}

/** GSP price of one ad given the ad right below it (undefined: no competitor: the reserve). */
export function priceOneByCtr(ad: CtrRankable, next: CtrRankable | undefined, rule: PricingRule): number {
  const reserve = roundUpToStep(rule.reserveMicros, rule.stepMicros);
  if (next === undefined) return Math.min(ad.bidMicros, reserve);
  const toMatch = ceilDiv(ctrScore(next), ad.ctrPpm);
  const price = roundUpToStep(Math.max(reserve, toMatch) + rule.stepMicros, rule.stepMicros);
  return Math.min(ad.bidMicros, price);
}

/** Prices the first `shown` of `ranked` (compareByCtr order); the ad after the last is its competitor. */
export function priceAdsByCtr(ranked: readonly CtrRankable[], shown: number, rule: PricingRule): number[] {
  const count = Math.min(shown, ranked.length);
  const prices = new Array<number>(count);
  for (let i = 0; i < count; i++) prices[i] = priceOneByCtr(ranked[i]!, ranked[i + 1], rule);
  return prices;
}
