import { describe, expect, it } from 'vitest';
import { armReport, Tally } from './tally.js';

describe('the per-arm report', () => {
  it('computes CTR and revenue per 1,000 queries from hand-made counts', () => {
    expect(armReport({ queries: 3, impressions: 12, clicks: 3, costMicros: 1_000_001 })).toEqual({
      queries: 3,
      impressions: 12,
      clicks: 3,
      ctr: 0.25,
      costMicros: 1_000_001,
      // 1,000,001 x 1000 / 3 = 333,333,666.67
      rpmMicros: 333_333_667,
    });
  });

  it('reports 0 rather than NaN for an arm without traffic', () => {
    expect(armReport({ queries: 0, impressions: 0, clicks: 0, costMicros: 0 })).toEqual({
      queries: 0,
      impressions: 0,
      clicks: 0,
      ctr: 0,
      costMicros: 0,
      rpmMicros: 0,
    });
  });

  it('adds answers and clicks to their arm, an answer without an arm to quality', () => {
    const t = new Tally();
    t.declare('ctr');
    t.answer('ctr', 5);
    t.answer('ctr', 4);
    t.answer(undefined, 5);
    t.answer('quality', 0);
    t.click('ctr', 302, 450_000);
    t.click('ctr', 302, 300_000);
    t.click(undefined, 302, 1_200_000);
    t.click('ctr', 400, 999_999);
    t.click('quality', 'error', 5);
    t.failedQuery(503);
    t.failedQuery(503);
    expect(t.report()).toEqual({
      ctr: { queries: 2, impressions: 9, clicks: 2, ctr: 2 / 9, costMicros: 750_000, rpmMicros: 375_000_000 },
      quality: {
        queries: 2,
        impressions: 5,
        clicks: 1,
        ctr: 0.2,
        costMicros: 1_200_000,
        rpmMicros: 600_000_000,
      },
    });
    expect(t.invalidClicks).toEqual({ '400': 1, error: 1 });
    expect(t.failedQueries).toEqual({ '503': 2 });
    expect(t.clicks).toBe(3);
    expect(t.costMicros).toBe(1_950_000);
  });

  it('lists a declared arm with no traffic, arms in name order', () => {
    const t = new Tally();
    t.declare('quality');
    t.declare('ctr');
    expect(Object.keys(t.report())).toEqual(['ctr', 'quality']);
    expect(t.report().ctr?.queries).toBe(0);
  });
});
