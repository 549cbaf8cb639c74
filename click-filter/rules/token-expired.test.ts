import { describe, expect, it } from 'vitest';
import { click, payload, settings, T0 } from '../testing.js';
import { tokenExpired } from './token-expired.js';

describe('rule: token expired', () => {
  it('has reason code "expired"', () => expect(tokenExpired.reason).toBe('expired'));
  it('rejects a token issued longer ago than the max age', () => {
    const c = click({ token: payload({ issuedAtMs: T0 - 3_600_001 }) });
    expect(tokenExpired.rejects(c, settings())).toBe(true);
  });
  it('accepts a token exactly at the max age', () => {
    const c = click({ token: payload({ issuedAtMs: T0 - 3_600_000 }) });
    expect(tokenExpired.rejects(c, settings())).toBe(false);
  });
  it('uses the run-time threshold', () => {
    const c = click({ token: payload({ issuedAtMs: T0 - 20_000 }) });
    expect(tokenExpired.rejects(c, settings({ tokenMaxAgeMs: 10_000 }))).toBe(true);
    expect(tokenExpired.rejects(c, settings({ tokenMaxAgeMs: 30_000 }))).toBe(false);
  });
});
