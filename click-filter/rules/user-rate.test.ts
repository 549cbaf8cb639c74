import { describe, expect, it } from 'vitest';
import { RateWindow } from '../state/rate-window.js';
import { click, settings, T0 } from '../testing.js';
import { userRate } from './user-rate.js';

describe('rule: per-user click rate', () => {
  it('has reason code "user-rate"', () => expect(userRate(new RateWindow(10)).reason).toBe('user-rate'));

  it('allows max clicks per window and rejects the next one', () => {
    const rule = userRate(new RateWindow(10));
    const s = settings({ userRateMax: 3, userRateWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(rule.rejects(click({ nowMs: T0 + i }), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 10 }), s)).toBe(true);
  });

  it('is a sliding window: the limit frees up as old clicks leave it', () => {
    const rule = userRate(new RateWindow(10));
    const s = settings({ userRateMax: 2, userRateWindowMs: 1_000 });
    expect(rule.rejects(click({ nowMs: T0 }), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 500 }), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 999 }), s)).toBe(true);
    // The attempt at +999 counted too: at +1,600 the window holds +999 and this one only.
    expect(rule.rejects(click({ nowMs: T0 + 1_600 }), s)).toBe(false);
  });

  it('counts users separately', () => {
    const rule = userRate(new RateWindow(10));
    const s = settings({ userRateMax: 1 });
    expect(rule.rejects(click({ userKey: 'a' }), s)).toBe(false);
    expect(rule.rejects(click({ userKey: 'b' }), s)).toBe(false);
    expect(rule.rejects(click({ userKey: 'a' }), s)).toBe(true);
  });

  it('does not limit clicks without a user key, nor when max is 0', () => {
    const rule = userRate(new RateWindow(10));
    for (let i = 0; i < 5; i++)
      expect(rule.rejects(click({ userKey: '' }), settings({ userRateMax: 1 }))).toBe(false);
    for (let i = 0; i < 5; i++) expect(rule.rejects(click(), settings({ userRateMax: 0 }))).toBe(false);
  });

  it('follows a limit changed at run time', () => {
    const rule = userRate(new RateWindow(10));
    for (let i = 0; i < 3; i++) rule.rejects(click({ nowMs: T0 + i }), settings({ userRateMax: 5 }));
    expect(rule.rejects(click({ nowMs: T0 + 5 }), settings({ userRateMax: 2 }))).toBe(true);
    expect(rule.rejects(click({ nowMs: T0 + 6 }), settings({ userRateMax: 10 }))).toBe(false);
  });

  it('drops the users idle longest when full, across its shards', () => {
    const w = new RateWindow(20);
    const rule = userRate(w);
    const s = settings({ userRateMax: 1, userRateWindowMs: 60_000 });
    for (let i = 0; i < 20; i++) rule.rejects(click({ userKey: `u${i}`, nowMs: T0 }), s);
    for (let i = 0; i < 10; i++) rule.rejects(click({ userKey: `u${i}`, nowMs: T0 + 1 }), s);
    for (let i = 20; i < 30; i++) rule.rejects(click({ userKey: `u${i}`, nowMs: T0 + 2 }), s);
    expect(w.size).toBe(20);
    expect(w.evicted).toBe(10);
    // u0..u9 were touched again, so they are still tracked (over their limit of 1)...
    for (let i = 0; i < 10; i++)
      expect(rule.rejects(click({ userKey: `u${i}`, nowMs: T0 + 3 }), s)).toBe(true);
    // ...and u10..u19, idle longest, were dropped: a fresh start.
    for (let i = 10; i < 20; i++)
      expect(rule.rejects(click({ userKey: `u${i}`, nowMs: T0 + 3 }), s)).toBe(false);
  });

  it('keeps at most maxKeys users', () => {
    const w = new RateWindow(3);
    const rule = userRate(w);
    for (const k of ['a', 'b', 'c', 'd']) rule.rejects(click({ userKey: k }), settings());
    expect(w.size).toBe(3);
    expect(w.evicted).toBe(1);
  });
});
