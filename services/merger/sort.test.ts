import { describe, expect, it } from 'vitest';
import { mergeRanked } from './sort.js';
import { hit } from './test-support.js';

const ids = (hits: { offerId: string }[]) => hits.map((h) => h.offerId);

describe('P4PNormalSort', () => {
  it('orders the merged columns by score, best first', () => {
    const out = mergeRanked([
      [hit('o1', 'A', 90), hit('o3', 'A', 10)],
      [hit('o2', 'B', 50), hit('o4', 'B', 5)],
    ]);
    expect(ids(out)).toEqual(['o1', 'o2', 'o3', 'o4']);
  });

  it('breaks a score tie by higher quality, then by offer id ascending, whatever the column order', () => {
    const a = [hit('o9', 'A', 100, 4000), hit('o5', 'A', 100, 6000)];
    const b = [hit('o2', 'B', 100, 4000), hit('o7', 'B', 100, 6000)];
    expect(ids(mergeRanked([a, b]))).toEqual(['o5', 'o7', 'o2', 'o9']);
    expect(ids(mergeRanked([b, a]))).toEqual(['o5', 'o7', 'o2', 'o9']);
  });

  it('compares offer ids as text, not as numbers', () => {
    expect(ids(mergeRanked([[hit('o10', 'A', 1)], [hit('o9', 'B', 1)]]))).toEqual(['o10', 'o9']);
  });

  it('does not change its inputs', () => {
    const col = [hit('o2', 'A', 1), hit('o1', 'A', 2)];
    mergeRanked([col]);
    expect(ids(col)).toEqual(['o2', 'o1']);
  });
});
