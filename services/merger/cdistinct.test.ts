import { describe, expect, it } from 'vitest';
import { cdistinct } from './cdistinct.js';
import { mergeAnswers } from './merge.js';
import { hit } from './test-support.js';

const ids = (hits: { offerId: string }[]) => hits.map((h) => h.offerId);

describe('CDistinct', () => {
  it('keeps at most k ads per advertiser, the best-ranked ones', () => {
    const ranked = [
      hit('o1', 'A', 90),
      hit('o2', 'A', 80),
      hit('o3', 'B', 70),
      hit('o4', 'A', 60),
      hit('o5', 'B', 50),
    ];
    const { kept, dropped } = cdistinct(ranked, 2);
    expect(ids(kept)).toEqual(['o1', 'o2', 'o3', 'o5']);
    expect(dropped).toBe(1);
  });

  it('applies to the merged answer: an advertiser with ads in both columns keeps only k overall', () => {
    // Per column, A has only 2 ads (a per-column CDistinct would keep all 4).
    const col0 = [hit('a1', 'A', 100), hit('a2', 'A', 90), hit('b1', 'B', 40)];
    const col1 = [hit('a3', 'A', 95), hit('a4', 'A', 85), hit('c1', 'C', 30)];
    const out = mergeAnswers(
      [
        { hits: col0, askedK: 10 },
        { hits: col1, askedK: 10 },
      ],
      10,
      2,
    );
    expect(ids(out.hits)).toEqual(['a1', 'a3', 'b1', 'c1']);
    expect(out.hits.filter((h) => h.customerId === 'A')).toHaveLength(2);
  });

  it('with k = 1 shows one ad per advertiser', () => {
    const ranked = [hit('o1', 'A', 9), hit('o2', 'A', 8), hit('o3', 'B', 7)];
    expect(ids(cdistinct(ranked, 1).kept)).toEqual(['o1', 'o3']);
  });

  it('shows an offer only once even if two columns return it (index versions mixing during a swap)', () => {
    const ranked = [hit('o1', 'A', 9), hit('o1', 'A', 9), hit('o2', 'B', 8)];
    expect(ids(cdistinct(ranked, 2).kept)).toEqual(['o1', 'o2']);
  });

  it('stops at the limit', () => {
    const ranked = [hit('o1', 'A', 9), hit('o2', 'B', 8), hit('o3', 'C', 7)];
    expect(ids(cdistinct(ranked, 2, 2).kept)).toEqual(['o1', 'o2']);
  });
});
