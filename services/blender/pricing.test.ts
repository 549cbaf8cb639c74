import { describe, expect, it } from 'vitest';
import { parseMoney } from '../../core/money.js';
import { qualityToBp, type RankedMatchType, score } from '../../core/ranking.js';
import { type PricedInput, priceAds, priceOne, pricingRuleProblem } from './pricing.js';

const rule = { reserveMicros: parseMoney('0.05'), stepMicros: parseMoney('0.01') };

function ad(bid: string, quality = 1, matchType: RankedMatchType = 'exact'): PricedInput {
  const bidMicros = parseMoney(bid);
  const qualityBp = qualityToBp(quality);
  return { bidMicros, qualityBp, matchType, score: score(bidMicros, qualityBp, matchType) };
}

describe('GSP pricing with quality', () => {
  it('with equal quality, bids 5.00 / 2.50 / 2.00 give the first ad 2.51 and the second 2.01', () => {
    const ranked = [ad('5.00'), ad('2.50'), ad('2.00')];
    expect(priceAds(ranked, 2, rule)).toEqual([parseMoney('2.51'), parseMoney('2.01')]);
  });

  it('prices the last shown ad against the extra (n+1)-th ad, which is not priced', () => {
    const ranked = [ad('5.00'), ad('2.50'), ad('2.00')];
    expect(priceAds(ranked, 3, rule)).toEqual([2_510_000, 2_010_000, rule.reserveMicros]);
    expect(priceAds(ranked, 1, rule)).toEqual([2_510_000]);
  });

  it('a lower position can pay more per click when its quality is lower', () => {
    // A: 2.00 x 1.0 -> score 2e12; B: 3.00 x 0.5 -> 1.5e12; C: 1.00 x 1.0 -> 1e12.
    const ranked = [ad('2.00', 1.0), ad('3.00', 0.5), ad('1.00', 1.0)];
    const [a, b] = priceAds(ranked, 2, rule);
    expect(a).toBe(parseMoney('1.51')); // 1.5e12 / 1e6 = 1.50, + 0.01
    expect(b).toBe(parseMoney('2.01')); // 1e12 / 5e5 = 2.00, + 0.01
    expect(b!).toBeGreaterThan(a!);
  });

  it('match-type weight divides like quality (phrase 90% must pay more to beat the same score)', () => {
    // phrase ad bid 3.00 q 1.0: score 3e6*1e4*90 = 2.7e12; next exact 2.00 q 1.0: 2e12.
    const ranked = [ad('3.00', 1, 'phrase'), ad('2.00', 1, 'exact')];
    // ceil(2e12 / (1e4*90)) = ceil(2,222,222.2) = 2,222,223 -> +10,000 -> up to step 2,240,000
    expect(priceAds(ranked, 1, rule)).toEqual([2_240_000]);
  });

  it('rounds a price that falls between steps up to the next step', () => {
    // next score 2,503,000 x 1e6; equal quality -> 2.503 + 0.01 = 2.513 -> 2.52
    const next = ad('2.503');
    expect(priceOne(ad('9.00'), next.score, rule)).toBe(parseMoney('2.52'));
  });

  it('never charges less than the reserve plus a step against a tiny competitor', () => {
    const ranked = [ad('5.00'), ad('0.01')];
    expect(priceAds(ranked, 1, { reserveMicros: parseMoney('0.30'), stepMicros: 10_000 })).toEqual([
      parseMoney('0.31'),
    ]);
  });

  it('the last ad with no competitor pays the reserve, rounded up to a step', () => {
    expect(priceAds([ad('5.00')], 1, { reserveMicros: 123_456, stepMicros: 10_000 })).toEqual([130_000]);
  });

  it('one ad alone pays the reserve', () => {
    expect(priceAds([ad('1.00')], 5, rule)).toEqual([rule.reserveMicros]);
  });

  it('never charges above the bid (reserve above the bid, or a competitor that is close)', () => {
    expect(priceAds([ad('0.03')], 1, rule)).toEqual([parseMoney('0.03')]);
    // 2.50 vs 2.495: would be 2.495 + 0.01 -> 2.51 but the bid is 2.50
    expect(priceAds([ad('2.50'), ad('2.495')], 1, rule)).toEqual([parseMoney('2.50')]);
  });

  it('ties: an ad tied with the one below pays its own bid', () => {
    const ranked = [ad('2.00'), ad('2.00'), ad('1.00')];
    expect(priceAds(ranked, 2, rule)).toEqual([parseMoney('2.00'), parseMoney('1.01')]);
  });

  it('ties by score with different bids: each pays what beats the next score', () => {
    // A 4.00 q 0.5 and B 2.00 q 1.0 both score 2e12; A is priced against B's score with its own quality.
    const ranked = [ad('4.00', 0.5), ad('2.00', 1.0)];
    expect(priceAds(ranked, 1, rule)).toEqual([parseMoney('4.00')]);
  });

  it('prices exactly at the largest bids (no floating-point drift)', () => {
    const ranked = [ad('1000'), ad('999.99'), ad('999.98')];
    expect(priceAds(ranked, 2, rule)).toEqual([parseMoney('1000'), parseMoney('999.99')]);
    const q = [ad('1000', 0.9999), ad('999.99', 0.9999)];
    expect(priceAds(q, 1, rule)).toEqual([parseMoney('1000')]);
  });

  it('prices nothing when nothing ranked', () => {
    expect(priceAds([], 3, rule)).toEqual([]);
  });

  it('checks rules from configuration', () => {
    expect(pricingRuleProblem({ reserveMicros: 10_000, stepMicros: 10_000 })).toBeUndefined();
    expect(pricingRuleProblem({ reserveMicros: 10_000, stepMicros: 0 })).toMatch(/stepMicros/);
    expect(pricingRuleProblem({ reserveMicros: -1, stepMicros: 10_000 })).toMatch(/reserveMicros/);
    expect(pricingRuleProblem({ reserveMicros: 1.5, stepMicros: 10_000 })).toMatch(/reserveMicros/);
  });
});
