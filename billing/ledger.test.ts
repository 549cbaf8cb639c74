import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Refund, Settlement } from '../core/click-records.js';
import { Ledger, type LedgerEvent } from './ledger.js';

const T = Date.UTC(2026, 10, 22, 13, 5);
let dir: string;
let ledger: Ledger;
let offset = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  ledger = new Ledger({ path: dir, timeZone: 'UTC' });
  offset = 0;
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

const settlement = (clickId: string, priceMicros: number, over: Partial<Settlement> = {}): LedgerEvent => ({
  kind: 'settlement',
  value: {
    v: 1,
    clickId,
    customerId: 'c1',
    offerId: 'o1',
    bidwordId: 'b1',
    priceMicros,
    clickedAtMs: T,
    instance: 'i',
    ...over,
  },
});
const refund = (
  refundId: string,
  clickId: string,
  amountMicros: number,
  over: Partial<Refund> = {},
): LedgerEvent => ({
  kind: 'refund',
  value: {
    v: 1,
    refundId,
    clickId,
    customerId: 'c1',
    amountMicros,
    reason: 'burst-ip',
    hour: '2026-11-22T13',
    createdAtMs: T,
    ...over,
  },
});

/** Applies events as if they were consecutive records of one partition of `topic`. */
function apply(events: LedgerEvent[], topic = 'settlement') {
  const batch = events.map((event) => ({ event, topic, partition: 0, offset: String(offset++) }));
  return ledger.applyBatch(batch, [{ topic, partition: 0, nextOffset: String(offset) }]);
}

describe('ledger', () => {
  it('charges a click at its price and counts it in the day of the click', () => {
    const r = apply([settlement('k1', 2_510_000)]);
    expect(r.charged).toBe(1);
    expect(ledger.spend('c1', '2026-11-22')).toMatchObject({ chargedMicros: 2_510_000, clicks: 1 });
    expect(ledger.totals()).toEqual({ chargedMicros: 2_510_000, refundedMicros: 0, clicks: 1, refunds: 0 });
  });

  it('charges a click id at most once, even from two filter instances', () => {
    apply([settlement('k1', 1_000_000, { instance: 'a' })]);
    const r = apply([settlement('k1', 1_000_000, { instance: 'b' }), settlement('k1', 1_000_000)]);
    expect(r.charged).toBe(0);
    expect(r.duplicateSettlements).toBe(2);
    expect(ledger.totals().chargedMicros).toBe(1_000_000);
    expect(ledger.spend('c1', '2026-11-22')).toMatchObject({
      chargedMicros: 1_000_000,
      clicks: 1,
      duplicateSettlements: 2,
    });
  });

  it('applies a refund once, however often it is delivered', () => {
    apply([settlement('k1', 1_000_000)]);
    apply([refund('rf:k1', 'k1', 1_000_000)], 'corrections');
    const again = apply([refund('rf:k1', 'k1', 1_000_000)], 'corrections');
    expect(again.refunds.repeated).toBe(1);
    expect(ledger.totals()).toMatchObject({
      chargedMicros: 1_000_000,
      refundedMicros: 1_000_000,
      refunds: 1,
    });
    expect(ledger.netSpend('c1', '2026-11-22')).toBe(0);
  });

  it('never refunds more than was charged', () => {
    apply([settlement('k1', 1_000_000)]);
    apply([refund('r1', 'k1', 700_000), refund('r2', 'k1', 700_000), refund('r3', 'k1', 1)], 'corrections');
    expect(ledger.click('k1')?.refundedMicros).toBe(1_000_000);
    expect(ledger.appliedRefund('r2')).toMatchObject({
      requestedMicros: 700_000,
      appliedMicros: 300_000,
      effect: 'refunded',
    });
    expect(ledger.appliedRefund('r3')).toMatchObject({ appliedMicros: 0, effect: 'nothing-left' });
    expect(ledger.totals().refundedMicros).toBe(1_000_000);
  });

  it('never refunds a click that was not charged: the refund waits for the charge', () => {
    const r = apply([refund('rf:k9', 'k9', 500_000)], 'corrections');
    expect(r.refunds.parked).toBe(1);
    expect(ledger.totals().refundedMicros).toBe(0);
    expect(ledger.parkedRefunds()).toBe(1);
    apply([settlement('k9', 500_000)]);
    expect(ledger.totals()).toMatchObject({ chargedMicros: 500_000, refundedMicros: 500_000 });
    expect(ledger.parkedRefunds()).toBe(0);
  });

  it("does not refund another customer's click", () => {
    apply([settlement('k1', 1_000_000)]);
    apply([refund('r1', 'k1', 1_000_000, { customerId: 'c2' })], 'corrections');
    expect(ledger.appliedRefund('r1')?.effect).toBe('customer-mismatch');
    expect(ledger.totals().refundedMicros).toBe(0);
  });

  it('a duplicate refund moves no money: the extra settlement was never charged', () => {
    apply([settlement('k1', 1_000_000, { instance: 'a' }), settlement('k1', 1_000_000, { instance: 'b' })]);
    apply([refund('dup:k1:b:1', 'k1', 1_000_000, { reason: 'duplicate' })], 'corrections');
    expect(ledger.appliedRefund('dup:k1:b:1')?.effect).toBe('absorbed-duplicate');
    expect(ledger.totals()).toMatchObject({ chargedMicros: 1_000_000, refundedMicros: 0 });
  });

  it('refunds count against the day of the click they refund', () => {
    apply([settlement('k1', 1_000_000, { clickedAtMs: Date.UTC(2026, 10, 21, 23, 59) })]);
    apply([refund('r1', 'k1', 400_000)], 'corrections');
    expect(ledger.spend('c1', '2026-11-21')).toMatchObject({
      chargedMicros: 1_000_000,
      refundedMicros: 400_000,
    });
    expect(ledger.spend('c1', '2026-11-22').chargedMicros).toBe(0);
  });

  it('uses its time zone for the billing day', async () => {
    await ledger.close();
    ledger = new Ledger({ path: dir, timeZone: 'Asia/Shanghai' });
    apply([settlement('k1', 1_000_000, { clickedAtMs: Date.UTC(2026, 10, 22, 20, 0) })]);
    expect(ledger.spend('c1', '2026-11-23').chargedMicros).toBe(1_000_000);
  });

  it('stores the position with the effects and skips records at or before it (a redelivered batch)', () => {
    const batch = [
      { event: settlement('k1', 1_000_000), topic: 'settlement', partition: 0, offset: '0' },
      { event: settlement('k2', 2_000_000), topic: 'settlement', partition: 0, offset: '1' },
    ];
    ledger.applyBatch(batch, [{ topic: 'settlement', partition: 0, nextOffset: '2' }]);
    expect(ledger.storedOffset('settlement', 0)).toBe('2');
    const again = ledger.applyBatch(batch, [{ topic: 'settlement', partition: 0, nextOffset: '2' }]);
    expect(again.skipped).toBe(2);
    expect(again.duplicateSettlements).toBe(0);
    expect(ledger.spend('c1', '2026-11-22').duplicateSettlements).toBe(0);
    expect(ledger.totals().chargedMicros).toBe(3_000_000);
  });

  it('survives a reopen with everything in place', async () => {
    apply([settlement('k1', 1_000_000)]);
    apply([refund('r1', 'k1', 250_000)], 'corrections');
    await ledger.flushed();
    await ledger.close();
    ledger = new Ledger({ path: dir, timeZone: 'UTC' });
    expect(ledger.totals()).toEqual({
      chargedMicros: 1_000_000,
      refundedMicros: 250_000,
      clicks: 1,
      refunds: 1,
    });
    expect(ledger.positions()).toEqual(
      expect.arrayContaining([
        { topic: 'settlement', partition: 0, nextOffset: '1' },
        { topic: 'corrections', partition: 0, nextOffset: '2' },
      ]),
    );
    expect(apply([settlement('k1', 1_000_000)]).charged).toBe(0);
  });

  it('keeps the newest customer entity by message id', () => {
    const c = (budget: number, messageId: number): LedgerEvent => ({
      kind: 'customer',
      id: 'c1',
      entity: { id: 'c1', name: 'A', status: 'online', dailyBudgetMicros: budget },
      messageId,
    });
    apply([c(5, 10), c(7, 12), c(6, 11)], 'changes');
    expect(ledger.customer('c1')).toMatchObject({ messageId: 12, entity: { dailyBudgetMicros: 7 } });
    expect(ledger.seedCustomers([{ id: 'c1', name: 'A', status: 'online', dailyBudgetMicros: 1 }], 11)).toBe(
      0,
    );
    expect(ledger.seedCustomers([{ id: 'c2', name: 'B', status: 'online', dailyBudgetMicros: 1 }], 11)).toBe(
      1,
    );
  });

  it('lists the spend of every customer on a day', () => {
    apply([settlement('k1', 1_000_000), settlement('k2', 3_000_000, { customerId: 'c2' })]);
    expect(
      Object.fromEntries([...ledger.spendOfDay('2026-11-22')].map(([c, s]) => [c, s.chargedMicros])),
    ).toEqual({
      c1: 1_000_000,
      c2: 3_000_000,
    });
  });
});
