import { describe, expect, it } from 'vitest';
import { createKeyring, encodeClickToken } from '../core/click-token.js';
import { ManualClock } from '../core/clock.js';
import { ClickPipeline } from './pipeline.js';
import type { FilterSettings } from './settings.js';
import { DedupWindow } from './state/dedup-window.js';
import { RateWindow } from './state/rate-window.js';
import { BROWSER_UA, payload, settings, T0, testKeyring } from './testing.js';

function pipeline(s: FilterSettings = settings(), ring = testKeyring()) {
  const clock = new ManualClock(T0);
  const p = new ClickPipeline({
    keyring: () => ring,
    settings: () => s,
    clock,
    instance: 'cf-test',
    state: { dedup: new DedupWindow(1000), users: new RateWindow(1000), ips: new RateWindow(1000) },
  });
  return { p, clock };
}

const ring = testKeyring();
const token = (over = {}) => encodeClickToken(ring, payload(over));

describe('click pipeline', () => {
  it('a genuine click is billable, with a settlement record at the token price', () => {
    const { p } = pipeline();
    const out = p.handle(token(), '198.51.100.7', BROWSER_UA);
    expect(out.kind).toBe('decided');
    if (out.kind !== 'decided') return;
    expect(out.landingUrl).toBe('https://shop.example/p/1');
    expect(out.decision).toMatchObject({
      clickId: '0f8fad5b-d9cb-469f-a165-70867728950e:1',
      billable: true,
      reason: 'ok',
      priceMicros: 2_510_000,
      customerId: 'c1',
      offerId: 'o1',
      bidwordId: 'b1',
      clickedAtMs: T0,
      instance: 'cf-test',
      ip: '198.51.100.7',
      kid: 1,
    });
    expect(out.decision.uaDigest).toMatch(/^[0-9a-f]{16}$/);
    expect(out.settlement).toEqual({
      v: 1,
      clickId: '0f8fad5b-d9cb-469f-a165-70867728950e:1',
      customerId: 'c1',
      offerId: 'o1',
      bidwordId: 'b1',
      priceMicros: 2_510_000,
      clickedAtMs: T0,
      instance: 'cf-test',
    });
  });

  it('the click id depends only on pv id and position, so two instances agree', () => {
    const a = pipeline().p.handle(token({ position: 3 }), '198.51.100.7', BROWSER_UA);
    const b = pipeline().p.handle(token({ position: 3 }), '203.0.113.1', 'other');
    expect(a.kind === 'decided' && b.kind === 'decided' && a.decision.clickId === b.decision.clickId).toBe(
      true,
    );
  });

  it('every decision id is unique within an instance', () => {
    const { p } = pipeline();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const out = p.handle(token(), '198.51.100.7', BROWSER_UA);
      if (out.kind === 'decided') ids.add(out.decision.decisionId);
    }
    expect(ids.size).toBe(5);
  });

  it('a rejected click has its reason and no settlement record, and still redirects', () => {
    const { p } = pipeline();
    const out = p.handle(token(), '198.51.100.7', 'Googlebot/2.1 (+http://www.google.com/bot.html)');
    expect(out).toMatchObject({
      kind: 'decided',
      landingUrl: 'https://shop.example/p/1',
      settlement: undefined,
    });
    if (out.kind === 'decided') expect(out.decision).toMatchObject({ billable: false, reason: 'bot' });
  });

  it('replaying the same click is billed once', () => {
    const { p } = pipeline();
    const t = token();
    const first = p.handle(t, '198.51.100.7', BROWSER_UA);
    const second = p.handle(t, '198.51.100.7', BROWSER_UA);
    expect(first.kind === 'decided' && first.decision.billable).toBe(true);
    expect(second.kind === 'decided' && second.decision.reason).toBe('duplicate');
  });

  it('runs the rules in the fixed order: expired before bot before too-fast', () => {
    const { p } = pipeline();
    const expiredBot = p.handle(token({ issuedAtMs: T0 - 4_000_000 }), '198.51.100.7', 'curl/8.0');
    expect(expiredBot.kind === 'decided' && expiredBot.decision.reason).toBe('expired');
    const fastBot = p.handle(token({ issuedAtMs: T0 - 10, position: 2 }), '198.51.100.7', 'curl/8.0');
    expect(fastBot.kind === 'decided' && fastBot.decision.reason).toBe('bot');
    const fast = p.handle(token({ issuedAtMs: T0 - 10, position: 3 }), '198.51.100.7', BROWSER_UA);
    expect(fast.kind === 'decided' && fast.decision.reason).toBe('too-fast');
  });

  it('an expired token does not count against the rate limits', () => {
    const { p } = pipeline(settings({ ipRateMax: 1 }));
    for (let i = 1; i <= 3; i++)
      p.handle(token({ issuedAtMs: T0 - 4_000_000, position: i }), '198.51.100.7', BROWSER_UA);
    const out = p.handle(token({ position: 9 }), '198.51.100.7', BROWSER_UA);
    expect(out.kind === 'decided' && out.decision.billable).toBe(true);
  });

  it('uses the token client digest as the user key, or the click ip + user agent without one', () => {
    const { p } = pipeline();
    const withDigest = p.handle(token({ clientDigest: '0123456789abcdef' }), '198.51.100.7', BROWSER_UA);
    expect(withDigest.kind === 'decided' && withDigest.decision.userKey).toBe('0123456789abcdef');
    const without = p.handle(token({ position: 2 }), '198.51.100.7', BROWSER_UA);
    expect(without.kind === 'decided' && without.decision.userKey).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never bills above the bid', () => {
    const { p } = pipeline();
    const out = p.handle(token({ priceMicros: 9_000_000, bidMicros: 5_000_000 }), '198.51.100.7', BROWSER_UA);
    expect(out.kind === 'decided' && out.settlement?.priceMicros).toBe(5_000_000);
  });

  it('a tampered token is a bad token, never a decision', () => {
    const { p } = pipeline();
    const t = token();
    const i = 30;
    const flipped = t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
    expect(p.handle(flipped, '198.51.100.7', BROWSER_UA)).toEqual({
      kind: 'bad-token',
      reason: 'auth-failed',
    });
    expect(p.handle('not a token', '198.51.100.7', BROWSER_UA)).toEqual({
      kind: 'bad-token',
      reason: 'bad-format',
    });
  });

  it('a token under a key not in the ring is a bad token', () => {
    const { p } = pipeline();
    const other = createKeyring(new Map([[9, new Uint8Array(32).fill(1)]]), 9);
    expect(p.handle(encodeClickToken(other, payload()), '198.51.100.7', BROWSER_UA)).toEqual({
      kind: 'bad-token',
      reason: 'unknown-key',
    });
  });
});
