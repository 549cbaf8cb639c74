import { describe, expect, it } from 'vitest';
import { click, payload, settings, T0 } from '../testing.js';
import { tooFast } from './too-fast.js';

describe('rule: click sooner than the minimum delay after its page view', () => {
  it('has reason code "too-fast"', () => expect(tooFast.reason).toBe('too-fast'));
  it('rejects a click 999 ms after the page view with a 1 s minimum', () =>
    expect(tooFast.rejects(click({ token: payload({ issuedAtMs: T0 - 999 }) }), settings())).toBe(true));
  it('accepts a click exactly at the minimum', () =>
    expect(tooFast.rejects(click({ token: payload({ issuedAtMs: T0 - 1_000 }) }), settings())).toBe(false));
  it('rejects a token issued in the future (clock skew)', () =>
    expect(tooFast.rejects(click({ token: payload({ issuedAtMs: T0 + 5_000 }) }), settings())).toBe(true));
  it('a minimum of 0 turns the rule off', () =>
    expect(
      tooFast.rejects(
        click({ token: payload({ issuedAtMs: T0 + 5_000 }) }),
        settings({ minDelayAfterPvMs: 0 }),
      ),
    ).toBe(false));
});
