import { describe, expect, it } from 'vitest';
import { RateWindow } from '../state/rate-window.js';
import { click, settings, T0 } from '../testing.js';
import { ipRate } from './ip-rate.js';

describe('rule: per-IP click rate', () => {
  it('has reason code "ip-rate"', () => expect(ipRate(new RateWindow(10)).reason).toBe('ip-rate'));

  it('rejects the click over the limit from one address, whatever the user', () => {
    const rule = ipRate(new RateWindow(10));
    const s = settings({ ipRateMax: 2, ipRateWindowMs: 10_000 });
    expect(rule.rejects(click({ userKey: 'a' }), s)).toBe(false);
    expect(rule.rejects(click({ userKey: 'b', nowMs: T0 + 1 }), s)).toBe(false);
    expect(rule.rejects(click({ userKey: 'c', nowMs: T0 + 2 }), s)).toBe(true);
    expect(rule.rejects(click({ ip: '198.51.100.8', nowMs: T0 + 3 }), s)).toBe(false);
  });

  it('lets the address click again after the window', () => {
    const rule = ipRate(new RateWindow(10));
    const s = settings({ ipRateMax: 1, ipRateWindowMs: 1_000 });
    expect(rule.rejects(click(), s)).toBe(false);
    expect(rule.rejects(click({ nowMs: T0 + 1_000 }), s)).toBe(false);
  });

  it('does not limit an unknown address', () => {
    const rule = ipRate(new RateWindow(10));
    for (let i = 0; i < 3; i++)
      expect(rule.rejects(click({ ip: '' }), settings({ ipRateMax: 1 }))).toBe(false);
  });
});
