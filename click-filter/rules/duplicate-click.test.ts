import { describe, expect, it } from 'vitest';
import { DedupWindow } from '../state/dedup-window.js';
import { click, payload, settings, T0 } from '../testing.js';
import { duplicateClick } from './duplicate-click.js';

describe('rule: the same click seen again within the window', () => {
  it('has reason code "duplicate"', () =>
    expect(duplicateClick(new DedupWindow(10)).reason).toBe('duplicate'));

  it('accepts the first click and rejects the same pv id + position again', () => {
    const rule = duplicateClick(new DedupWindow(10));
    const s = settings({ dedupWindowMs: 60_000 });
    expect(rule.rejects(click(), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 59_999 }), s)).toBe(true);
  });

  it('treats another position on the same page view as another click', () => {
    const rule = duplicateClick(new DedupWindow(10));
    const s = settings();
    expect(rule.rejects(click(), s)).toBe(false);
    expect(rule.rejects(click({ token: payload({ position: 2 }) }), s)).toBe(false);
  });

  it('accepts the same click again once the window has passed', () => {
    const rule = duplicateClick(new DedupWindow(10));
    const s = settings({ dedupWindowMs: 60_000 });
    expect(rule.rejects(click(), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 60_000 }), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 60_001 }), s)).toBe(true);
  });

  it('keeps memory bounded: the oldest entry goes first when full, and is counted', () => {
    const w = new DedupWindow(2);
    const rule = duplicateClick(w);
    const s = settings();
    for (const position of [1, 2, 3])
      expect(rule.rejects(click({ token: payload({ position }), nowMs: T0 + position }), s)).toBe(false);
    expect(w.size).toBe(2);
    expect(w.evictedEarly).toBe(1);
    expect(rule.rejects(click({ token: payload({ position: 3 }), nowMs: T0 + 4 }), s)).toBe(true);
    expect(rule.rejects(click({ token: payload({ position: 2 }), nowMs: T0 + 4 }), s)).toBe(true);
    expect(rule.rejects(click({ token: payload({ position: 1 }), nowMs: T0 + 4 }), s)).toBe(false);
  });

  it('evicts by age across its shards: of many clicks, the oldest go first', () => {
    const w = new DedupWindow(100);
    const rule = duplicateClick(w);
    const s = settings();
    for (let p = 1; p <= 150; p++)
      expect(rule.rejects(click({ token: payload({ position: p }), nowMs: T0 + p }), s)).toBe(false);
    expect(w.size).toBe(100);
    expect(w.evictedEarly).toBe(50);
    // 51..150 are remembered (their order among the shards does not matter), 1..50 are not.
    for (let p = 51; p <= 150; p++)
      expect(rule.rejects(click({ token: payload({ position: p }), nowMs: T0 + 200 }), s)).toBe(true);
    expect(w.evictedEarly).toBe(50);
  });

  it('drops expired entries as time moves on', () => {
    const w = new DedupWindow(100);
    const rule = duplicateClick(w);
    const s = settings({ dedupWindowMs: 1_000 });
    for (let p = 1; p <= 10; p++) rule.rejects(click({ token: payload({ position: p }) }), s);
    rule.rejects(click({ token: payload({ position: 11 }), nowMs: T0 + 5_000 }), s);
    expect(w.size).toBe(1);
  });

  it('a window of 0 turns the rule off', () => {
    const rule = duplicateClick(new DedupWindow(10));
    const s = settings({ dedupWindowMs: 0 });
    expect(rule.rejects(click(), s)).toBe(false);
    expect(rule.rejects(click(), s)).toBe(false);
  });
});
