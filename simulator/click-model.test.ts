import { describe, expect, it } from 'vitest';
import { TrueClickModel } from './click-model.js';

const keywords = ['running shoes', 'red dress', 'flights to apex', 'coffee grinder', 'tent'];

function impressions(count: number, position = 1) {
  return Array.from({ length: count }, (_, i) => ({
    queryIndex: i,
    position,
    keyword: keywords[i % keywords.length]!,
    offerId: `o-${(i * 7919) % 5000}`,
  }));
}

describe('the hidden true click model', () => {
  it('gives the same clicks and delays for the same seed', () => {
    const a = new TrueClickModel('42');
    const b = new TrueClickModel('42');
    const imps = impressions(2_000);
    expect(imps.map((i) => a.decide(i))).toEqual(imps.map((i) => b.decide(i)));
  });

  it('does not depend on the order impressions are decided in (concurrency)', () => {
    const m = new TrueClickModel('42');
    const imps = impressions(500);
    const forward = imps.map((i) => m.decide(i));
    const backward = [...imps]
      .reverse()
      .map((i) => m.decide(i))
      .reverse();
    expect(backward).toEqual(forward);
  });

  it('gives other clicks for another seed', () => {
    const imps = impressions(2_000);
    const a = imps.map((i) => new TrueClickModel('1').decide(i).probability);
    const b = imps.map((i) => new TrueClickModel('2').decide(i).probability);
    expect(a.filter((p, k) => p !== b[k]).length).toBeGreaterThan(1_900);
  });

  it('clicks about 3-8% of first-position ads, fewer further down', () => {
    const m = new TrueClickModel('ctr');
    const rate = (position: number) => {
      const imps = impressions(40_000, position);
      return imps.filter((i) => m.decide(i).clicked).length / imps.length;
    };
    const first = rate(1);
    expect(first).toBeGreaterThan(0.03);
    expect(first).toBeLessThan(0.08);
    const third = rate(3);
    expect(third).toBeLessThan(first * 0.55);
    expect(third).toBeGreaterThan(first * 0.3);
  });

  it('makes some ads clearly better than others (the best tenth >= 4x the worst tenth)', () => {
    const m = new TrueClickModel('spread');
    const appeals: number[] = [];
    for (let o = 0; o < 2_000; o++) for (const k of keywords) appeals.push(m.appeal(k, `o-${o}`));
    appeals.sort((x, y) => x - y);
    const decile = (q: number) => appeals[Math.floor(q * (appeals.length - 1))]!;
    expect(decile(0.9) / decile(0.1)).toBeGreaterThan(4);
    const mean = appeals.reduce((s, x) => s + x, 0) / appeals.length;
    expect(mean).toBeGreaterThan(0.03);
    expect(mean).toBeLessThan(0.08);
    expect(appeals.at(-1)).toBeLessThanOrEqual(0.5);
  });

  it("gives one offer a different appeal for different keywords, and keeps an offer's tendency", () => {
    const m = new TrueClickModel('pairs');
    expect(m.appeal('tent', 'o-1')).not.toBe(m.appeal('red dress', 'o-1'));
    // The per-offer factor: an offer's appeals over keywords correlate.
    const offers = Array.from({ length: 1_000 }, (_, o) => `o-${o}`);
    const x = offers.map((o) => Math.log(m.appeal('tent', o)));
    const y = offers.map((o) => Math.log(m.appeal('red dress', o)));
    expect(correlation(x, y)).toBeGreaterThan(0.4);
    expect(correlation(x, y)).toBeLessThan(0.9);
  });

  it('waits like a person: every delay within the configured range', () => {
    const m = new TrueClickModel('delays', { minDelayMs: 1_200, maxDelayMs: 5_000 });
    const delays = impressions(5_000).map((i) => m.decide(i).delayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1_200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5_000);
    expect(new Set(delays).size).toBeGreaterThan(1_000);
  });

  it('refuses a delay range upside down', () => {
    expect(() => new TrueClickModel('x', { minDelayMs: 5_000, maxDelayMs: 1_000 })).toThrow(RangeError);
  });
});

function correlation(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
