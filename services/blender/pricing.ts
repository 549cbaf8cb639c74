// GSP pricing with quality (DESIGN.md "Pricing"): what each shown ad pays per click. Pure integer
// arithmetic over core/ranking scores, no I/O, no state; safe on the hot path of every request.
//
// For the ad at position i (0-based here) with a competitor at i+1:
//   price_i = min(bid_i, roundUpToStep(max(reserve, ceil(score_{i+1} / (qualityBp_i x weightPct_i))) + step))
// i.e. the smallest price at which ad i's score still reaches the next ad's score, plus one price
// step, never below the reserve, rounded up to the currency step and never above ad i's own bid.
// The last shown ad with no competitor below it pays the reserve (rounded up to a step, capped at
// its bid). The blender asks the merger for n+1 ads, so the n-th shown ad is priced against the
// (n+1)-th, which is not shown.
//
// Scores are bid x qualityBp x weightPct (< 1e15 < 2^53), so ceilDiv is exact on doubles.
import { ceilDiv, DEFAULT_STEP_MICROS, roundUpToStep } from '../../core/money.js';
import { MATCH_WEIGHT_PCT, type RankedMatchType } from '../../core/ranking.js';

/** The fields pricing reads from a ranked ad (a SearchHit has them all). */
export interface PricedInput {
  readonly bidMicros: number;
  readonly qualityBp: number;
  readonly matchType: RankedMatchType;
  /** bidMicros x qualityBp x MATCH_WEIGHT_PCT[matchType], as the searcher computed it. */
  readonly score: number;
}

export interface PricingRule {
  /** Smallest price any click pays (micros); rounded up to a step before use. */
  readonly reserveMicros: number;
  /** The currency's price step (micros), > 0. */
  readonly stepMicros: number;
}

export const DEFAULT_PRICING_RULE: PricingRule = Object.freeze({
  reserveMicros: DEFAULT_STEP_MICROS,
  stepMicros: DEFAULT_STEP_MICROS,
});

/** Price of one ad given the score of the ad right below it (undefined: no competitor). */
export function priceOne(ad: PricedInput, nextScore: number | undefined, rule: PricingRule): number {
  const reserve = roundUpToStep(rule.reserveMicros, rule.stepMicros);
  if (nextScore === undefined) return Math.min(ad.bidMicros, reserve);
  const denominator = ad.qualityBp * MATCH_WEIGHT_PCT[ad.matchType];
  const toMatch = ceilDiv(nextScore, denominator);
  const price = roundUpToStep(Math.max(reserve, toMatch) + rule.stepMicros, rule.stepMicros);
  return Math.min(ad.bidMicros, price);
}

/**
 * Prices the first `shown` ads of `ranked` (best first, as the merger returns them); the ad at
 * index `shown` (if present) is the competitor of the last shown ad and is not priced itself.
 * Returns one price in micros per shown ad.
 */
export function priceAds(ranked: readonly PricedInput[], shown: number, rule: PricingRule): number[] {
  const count = Math.min(shown, ranked.length);
  const prices = new Array<number>(count);
  for (let i = 0; i < count; i++) prices[i] = priceOne(ranked[i]!, ranked[i + 1]?.score, rule);
  return prices;
}

/** Checks a rule read from config or ZooKeeper; returns the problem or undefined. */
export function pricingRuleProblem(rule: {
  reserveMicros?: unknown;
  stepMicros?: unknown;
}): string | undefined {
  const { reserveMicros, stepMicros } = rule;
  if (!Number.isSafeInteger(stepMicros) || (stepMicros as number) <= 0)
    return `stepMicros must be a positive integer of micros, got ${JSON.stringify(stepMicros)}`;
  if (!Number.isSafeInteger(reserveMicros) || (reserveMicros as number) < 0)
    return `reserveMicros must be a non-negative integer of micros, got ${JSON.stringify(reserveMicros)}`;
  return undefined;
}
