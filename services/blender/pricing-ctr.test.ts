import { describe, expect, it } from 'vitest';
import { compareByCtr, ctrToPpm, priceAdsByCtr } from './pricing-ctr.js';

const RULE = { reserveMicros: 50_000, stepMicros: 10_000 };
const ad = (offerId: string, bidMicros: number, pctr: number) => ({
  offerId,
  bidMicros,
  ctrPpm: ctrToPpm(pctr),
});

describe('GSP by expected revenue (bid x pCTR)', () => {
  it('ranks by bid x pCTR: a cheap ad people click beats a dear one they do not', () => {
    const ads = [ad('dear', 5_000_000, 0.01), ad('liked', 1_000_000, 0.08), ad('mid', 2_000_000, 0.02)];
    expect(ads.sort(compareByCtr).map((a) => a.offerId)).toEqual(['liked', 'dear', 'mid']);
  });

  it('prices each ad at what keeps its expected revenue above the next, plus a step (hand-computed)', () => {
    // liked: 1.00 x 80,000 ppm = 80,000,000,000; dear: 5.00 x 10,000 = 50,000,000,000;
    // mid: 2.00 x 20,000 = 40,000,000,000.
    // liked pays ceil(50e9 / 80,000) = 625,000 + step 10,000 = 635,000, rounded up to a whole
    // step: 640,000 (under its bid 1,000,000).
    // dear pays ceil(40e9 / 10,000) = 4,000,000 + 10,000 = 4,010,000 (under its bid 5,000,000).
    // mid is last with nobody below it: the reserve, 50,000.
    const ranked = [ad('liked', 1_000_000, 0.08), ad('dear', 5_000_000, 0.01), ad('mid', 2_000_000, 0.02)];
    expect(priceAdsByCtr(ranked, 3, RULE)).toEqual([640_000, 4_010_000, 50_000]);
    // Shown 2 of 3: the third is only the second's competitor.
    expect(priceAdsByCtr(ranked, 2, RULE)).toEqual([640_000, 4_010_000]);
  });

  it('never charges above the bid, never below the reserve, always a whole step', () => {
    // Equal expected revenue: the first pays its full bid (the step would take it over).
    const tie = [ad('a', 1_000_000, 0.05), ad('b', 1_000_000, 0.05)];
    expect(priceAdsByCtr(tie, 2, RULE)).toEqual([1_000_000, 50_000]);
    // A far weaker competitor: the reserve plus a step.
    const weak = [ad('a', 3_000_000, 0.5), ad('b', 10_000, 0.0001)];
    expect(priceAdsByCtr(weak, 1, RULE)).toEqual([60_000]);
    // Rounding up to the step: ceil(7,777,777 / 3) = 2,592,593 -> +10,000 -> 2,610,000.
    const odd = [
      { offerId: 'a', bidMicros: 9_000_000, ctrPpm: 3 },
      { offerId: 'b', bidMicros: 7_777_777, ctrPpm: 1 },
    ];
    expect(priceAdsByCtr(odd, 1, RULE)).toEqual([2_610_000]);
  });

  it('keeps pCTR an integer of ppm in 1..1e6 and refuses non-finite rates', () => {
    expect(ctrToPpm(0)).toBe(1);
    expect(ctrToPpm(1.5)).toBe(1_000_000);
    expect(ctrToPpm(0.0123456)).toBe(12_346);
    expect(() => ctrToPpm(Number.NaN)).toThrow(RangeError);
  });
});
