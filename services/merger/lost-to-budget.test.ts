import { describe, expect, it } from 'vitest';
import type { LostAd } from '../../core/search-contract.js';
import { lostToBudget } from './lost-to-budget.js';
import { mergeAnswers } from './merge.js';
import { hit } from './test-support.js';

const lost = (offerId: string, customerId: string, score: number, qualityBp = 5000): LostAd => ({
  offerId,
  customerId,
  bidwordId: `b-${offerId}`,
  matchType: 'phrase',
  qualityBp,
  score,
});

describe('lost to budget: the lost ads that would have been in the answer', () => {
  it('ranks lost ads among the hits and keeps those within the first n, with their position', () => {
    const out = lostToBudget(
      [[hit('a', 'A', 90), hit('b', 'B', 50)], [hit('c', 'C', 70)]],
      [[lost('x', 'X', 80), lost('y', 'Y', 10)], [lost('z', 'Z', 60)]],
      4,
      1,
    );
    // Union: a 90, x 80, c 70, z 60 | b 50, y 10: the first 4 hold x (2nd) and z (4th).
    expect(out.map((l) => [l.offerId, l.position])).toEqual([
      ['x', 2],
      ['z', 4],
    ]);
    expect(out[0]).toEqual({ ...lost('x', 'X', 80), position: 2 });
  });

  it('fills the free places when the answer has fewer than n hits', () => {
    const out = lostToBudget([[hit('a', 'A', 90)]], [[lost('y', 'Y', 10)]], 3, 1);
    expect(out.map((l) => [l.offerId, l.position])).toEqual([['y', 2]]);
  });

  it('applies CDistinct to the union: a second lost ad of the same customer takes no place', () => {
    const out = lostToBudget(
      [[hit('a', 'A', 90), hit('b', 'B', 40)]],
      [[lost('x1', 'X', 80), lost('x2', 'X', 70), lost('x3', 'X', 60)]],
      3,
      2,
    );
    expect(out.map((l) => [l.offerId, l.position])).toEqual([
      ['x1', 2],
      ['x2', 3],
    ]);
  });

  it('ties go by quality, then offer id, as for hits', () => {
    const out = lostToBudget([[hit('a', 'A', 50, 6000)]], [[lost('x', 'X', 50, 5000)]], 1, 1);
    expect(out).toEqual([]);
    const wins = lostToBudget([[hit('b', 'A', 50, 5000)]], [[lost('a', 'X', 50, 5000)]], 1, 1);
    expect(wins.map((l) => l.position)).toEqual([1]);
  });

  it('is empty without lost ads, and mergeAnswers passes the columns lost ads through it', () => {
    expect(lostToBudget([[hit('a', 'A', 1)]], [], 5, 1)).toEqual([]);
    const out = mergeAnswers(
      [
        { hits: [hit('a', 'A', 90)], askedK: 3, lostToBudget: [lost('x', 'X', 95)] },
        { hits: [hit('c', 'C', 70)], askedK: 3 },
        undefined,
      ],
      3,
      1,
    );
    expect(out.hits.map((h) => h.offerId)).toEqual(['a', 'c']);
    expect(out.lostToBudget.map((l) => [l.offerId, l.position])).toEqual([['x', 1]]);
  });
});
