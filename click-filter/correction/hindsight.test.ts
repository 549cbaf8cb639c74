import { describe, expect, it } from 'vitest';
import type { ClickDecision } from '../../core/click-records.js';
import { compileBlockList } from '../settings.js';
import { hindsight } from './hindsight.js';

const T = Date.UTC(2026, 10, 22, 13, 0);
let seq = 0;
const d = (over: Partial<ClickDecision> = {}): ClickDecision => {
  seq++;
  return {
    v: 1,
    clickId: `pv${seq}:1`,
    decisionId: `cf-a:${seq}`,
    instance: 'cf-a',
    billable: true,
    reason: 'ok',
    pvId: `pv${seq}`,
    position: 1,
    offerId: 'o1',
    customerId: 'c1',
    bidwordId: 'b1',
    priceMicros: 100_000,
    bidMicros: 200_000,
    issuedAtMs: T - 5_000,
    clickedAtMs: T + seq,
    ip: `198.51.100.${seq % 250}`,
    uaDigest: 'aa',
    userKey: `u${seq}`,
    kid: 1,
    ...over,
  };
};
const off = { burstIpMax: 0, burstUserMax: 0, blockList: undefined };

describe('hourly correction: hindsight rules', () => {
  it('refunds nothing for an hour of ordinary clicks', () => {
    const r = hindsight(
      [d(), d(), d({ billable: false, reason: 'bot' })],
      '2026-11-22T13',
      { ...off, burstIpMax: 10, burstUserMax: 10 },
      T,
    );
    expect(r.refunds).toEqual([]);
    expect(r).toMatchObject({ decisions: 3, billableDecisions: 2, charged: 2 });
  });

  it('the same click id billed by two instances: the later decision gets a duplicate refund', () => {
    const first = d({ clickId: 'pvX:2', instance: 'cf-a', decisionId: 'cf-a:1', clickedAtMs: T + 10 });
    const second = d({ clickId: 'pvX:2', instance: 'cf-b', decisionId: 'cf-b:7', clickedAtMs: T + 20 });
    const r = hindsight([second, first], '2026-11-22T13', off, T + 3_600_000);
    expect(r.refunds).toEqual([
      {
        v: 1,
        refundId: 'dup:pvX:2:cf-b:7',
        clickId: 'pvX:2',
        customerId: 'c1',
        amountMicros: 100_000,
        reason: 'duplicate',
        hour: '2026-11-22T13',
        createdAtMs: T + 3_600_000,
      },
    ]);
  });

  it('a decision written twice by a producer retry is one decision, not a duplicate', () => {
    const a = d();
    expect(hindsight([a, { ...a }], 'h', off, T).refunds).toEqual([]);
  });

  it('a not-billable decision next to a billable one of the same click is no duplicate', () => {
    const a = d({ clickId: 'pvY:1' });
    const b = d({ clickId: 'pvY:1', billable: false, reason: 'duplicate' });
    expect(hindsight([a, b], 'h', off, T).refunds).toEqual([]);
  });

  it('refunds every billable click of an address with more clicks in the hour than the burst limit', () => {
    const ip = '203.0.113.50';
    const clicks = [d({ ip }), d({ ip }), d({ ip, billable: false, reason: 'ip-rate' }), d()];
    const r = hindsight(clicks, 'h', { ...off, burstIpMax: 2 }, T);
    expect(r.refunds.map((x) => [x.clickId, x.reason]).sort()).toEqual(
      [
        [clicks[0]!.clickId, 'burst-ip'],
        [clicks[1]!.clickId, 'burst-ip'],
      ].sort(),
    );
    expect(r.byReason['burst-ip']).toBe(2);
  });

  it('refunds a user bursting across many addresses', () => {
    const clicks = [d({ userKey: 'bad' }), d({ userKey: 'bad' }), d({ userKey: 'bad' })];
    const r = hindsight(clicks, 'h', { ...off, burstUserMax: 2, burstIpMax: 2 }, T);
    expect(r.refunds.map((x) => x.reason)).toEqual(['burst-user', 'burst-user', 'burst-user']);
  });

  it('refunds a click whose address is in a range blocked after the click', () => {
    const a = d({ ip: '192.0.2.77' });
    const r = hindsight([a, d()], 'h', { ...off, blockList: compileBlockList(['192.0.2.0/24'], []) }, T);
    expect(r.refunds.map((x) => [x.refundId, x.reason])).toEqual([[`rf:${a.clickId}`, 'blocked-ip']]);
  });

  it('gives a click at most one refund of its own, and the same ids on every run', () => {
    const ip = '203.0.113.9';
    const clicks = [d({ ip, userKey: 'u' }), d({ ip, userKey: 'u' }), d({ ip, userKey: 'u' })];
    const s = { burstIpMax: 1, burstUserMax: 1, blockList: compileBlockList([ip], []) };
    const one = hindsight(clicks, 'h', s, T);
    const two = hindsight([...clicks].reverse(), 'h', s, T + 99);
    expect(one.refunds.every((x) => x.reason === 'blocked-ip')).toBe(true);
    expect(one.refunds.map((x) => x.refundId)).toEqual(two.refunds.map((x) => x.refundId));
    expect(new Set(one.refunds.map((x) => x.clickId)).size).toBe(3);
  });
});
