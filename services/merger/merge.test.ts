import { describe, expect, it } from 'vitest';
import { MAX_K } from '../../core/search-contract.js';
import { mergeAnswers } from './merge.js';
import { hit } from './test-support.js';

describe('merge: when a column must be asked deeper', () => {
  it('never when CDistinct dropped nothing (top n per column is enough for the global top n)', () => {
    const out = mergeAnswers(
      [
        { hits: [hit('a', 'A', 9), hit('b', 'B', 8)], askedK: 2 },
        { hits: [hit('c', 'C', 7), hit('d', 'D', 6)], askedK: 2 },
      ],
      2,
      2,
    );
    expect(out.deepen).toEqual([]);
    expect(out.hits.map((h) => h.offerId)).toEqual(['a', 'b']);
  });

  it('when CDistinct dropped ads and a full column may hold better ones', () => {
    // Column 0's top 3 are all advertiser A; k = 1 keeps one, and column 0's 4th ad (unseen)
    // could beat column 1's.
    const out = mergeAnswers(
      [
        { hits: [hit('a1', 'A', 90), hit('a2', 'A', 80), hit('a3', 'A', 70)], askedK: 3 },
        { hits: [hit('c1', 'C', 20)], askedK: 3 },
      ],
      3,
      1,
    );
    expect(out.hits.map((h) => h.offerId)).toEqual(['a1', 'c1']);
    expect(out.deepen).toEqual([0]);
  });

  it('not for a column that returned fewer than it was asked (it has nothing more)', () => {
    const out = mergeAnswers(
      [
        { hits: [hit('a1', 'A', 90), hit('a2', 'A', 80)], askedK: 3 },
        { hits: [hit('c1', 'C', 20)], askedK: 3 },
      ],
      3,
      1,
    );
    expect(out.deepen).toEqual([]);
  });

  it('not when the answer is full and ends before the column last ad', () => {
    const out = mergeAnswers(
      [
        { hits: [hit('a1', 'A', 90), hit('a2', 'A', 80)], askedK: 2 },
        { hits: [hit('b1', 'B', 85), hit('c1', 'C', 84)], askedK: 2 },
      ],
      2,
      1,
    );
    expect(out.hits.map((h) => h.offerId)).toEqual(['a1', 'b1']);
    expect(out.deepen).toEqual([]);
  });

  it('not when the column was already asked for the most a searcher gives', () => {
    const many = Array.from({ length: MAX_K }, (_, i) => hit(`a${i}`, 'A', 1000 - i));
    const out = mergeAnswers([{ hits: many, askedK: MAX_K }], 3, 1);
    expect(out.deepen).toEqual([]);
    expect(out.hits).toHaveLength(1);
  });

  it('ignores columns that did not answer', () => {
    const out = mergeAnswers([undefined, { hits: [hit('a', 'A', 1)], askedK: 5 }], 5, 2);
    expect(out.hits.map((h) => h.offerId)).toEqual(['a']);
    expect(out.deepen).toEqual([]);
  });
});
