import { describe, expect, it } from 'vitest';
import { Attribution } from './attribution.js';

const W = 60_000;

describe('attribution', () => {
  it('a valid click makes its impression a positive at once; the others become negatives after the window', () => {
    const a = new Attribution<string>(W);
    expect(a.impression('pv1:1', 'f1', 1_000)).toEqual([]);
    expect(a.impression('pv1:2', 'f2', 1_000)).toEqual([]);
    expect(a.click('pv1:2', true, 5_000)).toEqual([
      { clickId: 'pv1:2', clicked: true, impression: 'f2', timeMs: 1_000 },
    ]);
    expect(a.advance(60_999)).toEqual([]); // not yet a whole window
    expect(a.advance(61_000)).toEqual([
      { clickId: 'pv1:1', clicked: false, impression: 'f1', timeMs: 1_000 },
    ]);
    expect(a.counts).toMatchObject({ positives: 1, negatives: 1 });
  });

  it('a late click inside the window is not lost; after the window the impression is already a negative', () => {
    const a = new Attribution<string>(W);
    a.impression('pv1:1', 'f1', 0);
    a.impression('pv2:1', 'g1', 0);
    a.advance(59_000);
    expect(a.click('pv1:1', true, 59_500)).toHaveLength(1); // late, inside the window: positive
    expect(a.advance(60_000)).toEqual([{ clickId: 'pv2:1', clicked: false, impression: 'g1', timeMs: 0 }]);
    expect(a.click('pv2:1', true, 61_000)).toEqual([]); // after the window: it stays a negative
    expect(a.counts).toMatchObject({ positives: 1, negatives: 1, repeatClicks: 1 });
  });

  it('an invalid click is never a positive', () => {
    const a = new Attribution<string>(W);
    a.impression('pv1:1', 'f1', 0);
    expect(a.click('pv1:1', false, 10)).toEqual([]); // a bot, a duplicate, a fast click
    expect(a.advance(W)).toEqual([{ clickId: 'pv1:1', clicked: false, impression: 'f1', timeMs: 0 }]);
    expect(a.counts).toMatchObject({ positives: 0, negatives: 1, invalidClicks: 1 });
  });

  it('a valid click before its impression waits for it, and counts once', () => {
    const a = new Attribution<string>(W);
    expect(a.click('pv1:1', true, 100)).toEqual([]);
    expect(a.click('pv1:1', true, 120)).toEqual([]);
    expect(a.impression('pv1:1', 'f1', 90)).toEqual([
      { clickId: 'pv1:1', clicked: true, impression: 'f1', timeMs: 90 },
    ]);
    expect(a.advance(10 * W)).toEqual([]);
    expect(a.counts).toMatchObject({ positives: 1, negatives: 0, orphanClicks: 0 });
  });

  it('a valid click whose impression never comes is an orphan, not an example', () => {
    const a = new Attribution<string>(W);
    a.click('pv9:1', true, 0);
    expect(a.advance(W)).toEqual([]);
    expect(a.impression('pv9:1', 'late', W + 1)).toEqual([]); // too late to join: pending again
    expect(a.counts.orphanClicks).toBe(1);
  });

  it('a replayed impression or click changes nothing (one example per shown ad)', () => {
    const a = new Attribution<string>(W);
    a.impression('pv1:1', 'f1', 0);
    a.click('pv1:1', true, 10);
    expect(a.impression('pv1:1', 'f1', 0)).toEqual([]);
    expect(a.click('pv1:1', true, 20)).toEqual([]);
    a.impression('pv1:2', 'f2', 0);
    expect(a.advance(W)).toHaveLength(1);
    expect(a.impression('pv1:2', 'f2', 0)).toEqual([]);
    expect(a.advance(W + 1)).toEqual([]);
    expect(a.counts).toMatchObject({ positives: 1, negatives: 1, repeatClicks: 1 });
  });
});
