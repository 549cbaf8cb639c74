import { describe, expect, it } from 'vitest';
import { addRecord, emptyRows, splitClickId } from './records.js';
import { customerChange, decision, pv, refund, settlement, T0 } from './testing.js';

const buf = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('report rows from Kafka records', () => {
  it('turns a page view into one page-view row and one impression per shown ad', () => {
    const rows = emptyRows();
    expect(
      addRecord(
        'pv',
        buf(
          pv('p1', T0, [
            { customerId: 'c1', priceMicros: 5 },
            { customerId: 'c2', priceMicros: 7 },
          ]),
        ),
        'UTC',
        rows,
      ),
    ).toBe(true);
    const [row, ...more] = rows.pageViews;
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      pvId: 'p1',
      timeMs: T0,
      day: '2026-11-20',
      hour: 10,
      query: 'red shoes',
      region: 'DE',
      ads: 2,
    });
    const ads = (JSON.parse(row!.body) as { ads: { position: number; customerId: string }[] }).ads;
    expect(ads.map((a) => [a.position, a.customerId])).toEqual([
      [1, 'c1'],
      [2, 'c2'],
    ]);
  });

  it("turns a page view's ads lost to budget into one row each (the first of a position)", () => {
    const rows = emptyRows();
    const record = pv('p1', T0, [{ customerId: 'c1', priceMicros: 5 }], 'red shoes', [
      { customerId: 'c7', position: 1 },
      { customerId: 'c8', position: 3 },
      { customerId: 'c9', position: 3 },
    ]);
    expect(addRecord('pv', buf(record), 'UTC', rows)).toBe(true);
    expect(rows.budgetLosses).toEqual([
      {
        pvId: 'p1',
        position: 1,
        timeMs: T0,
        day: '2026-11-20',
        hour: 10,
        customerId: 'c7',
        offerId: 'o-c7',
        bidwordId: 'b-c7',
        query: 'red shoes',
        region: 'DE',
      },
      {
        pvId: 'p1',
        position: 3,
        timeMs: T0,
        day: '2026-11-20',
        hour: 10,
        customerId: 'c8',
        offerId: 'o-c8',
        bidwordId: 'b-c8',
        query: 'red shoes',
        region: 'DE',
      },
    ]);
    // Without lost ads, none.
    const plain = emptyRows();
    addRecord('pv', buf(pv('p2', T0, [{ customerId: 'c1', priceMicros: 5 }])), 'UTC', plain);
    expect(plain.budgetLosses).toEqual([]);
  });

  it('keeps the first ad of a position that a page view repeats', () => {
    const rows = emptyRows();
    const record = pv('p1', T0, [
      { customerId: 'c1', priceMicros: 5 },
      { customerId: 'c2', priceMicros: 7 },
    ]);
    record.ads[1]!.position = 1;
    expect(addRecord('pv', buf(record), 'UTC', rows)).toBe(true);
    const ads = (JSON.parse(rows.pageViews[0]!.body) as { ads: { customerId: string }[] }).ads;
    expect(ads.map((a) => a.customerId)).toEqual(['c1']);
  });

  it('keeps decisions, settlements (with the page view of the click id) and refunds', () => {
    const rows = emptyRows();
    expect(addRecord('clicks', buf(decision('p1:2', 'c1', 'bot', 5, 1)), 'UTC', rows)).toBe(true);
    expect(addRecord('settlement', buf(settlement('p1:2', 'c1', 5)), 'UTC', rows)).toBe(true);
    expect(addRecord('corrections', buf(refund('rf:p1:2', 'p1:2', 'c1', 5)), 'UTC', rows)).toBe(true);
    expect(rows.decisions[0]).toMatchObject({ reason: 'bot', billable: false, pvId: 'p1', position: 2 });
    expect(rows.settlements[0]).toMatchObject({
      clickId: 'p1:2',
      pvId: 'p1',
      position: 2,
      day: '2026-11-20',
    });
    expect(rows.refunds[0]).toMatchObject({ refundId: 'rf:p1:2', amountMicros: 5, reason: 'burst-ip' });
  });

  it('refuses what does not parse or does not match its schema', () => {
    const rows = emptyRows();
    expect(addRecord('pv', Buffer.from('{not json'), 'UTC', rows)).toBe(false);
    expect(addRecord('pv', null, 'UTC', rows)).toBe(false);
    expect(
      addRecord('settlement', buf({ ...settlement('p1:1', 'c1', 5), priceMicros: -1 }), 'UTC', rows),
    ).toBe(false);
    expect(addRecord('clicks', buf(settlement('p1:1', 'c1', 5)), 'UTC', rows)).toBe(false);
    expect(rows).toEqual(emptyRows());
  });

  it('keeps customer changes of the changes topic and ignores offers and bidwords', () => {
    const rows = emptyRows();
    expect(addRecord('changes', buf(customerChange(7, 'c1', 'offline', 500, T0)), 'UTC', rows)).toBe(true);
    expect(
      addRecord('changes', buf(customerChange(10, 'c2', 'offline', 500, T0, 'budget')), 'UTC', rows),
    ).toBe(true);
    expect(
      addRecord(
        'changes',
        buf({
          entity: 'customer',
          op: 'delete',
          id: 8,
          acceptedAt: new Date(T0).toISOString(),
          data: { id: 'c1' },
        }),
        'UTC',
        rows,
      ),
    ).toBe(true);
    expect(
      addRecord(
        'changes',
        buf({ entity: 'offer', op: 'upsert', id: 9, data: { id: 'o1', customerId: 'c1' } }),
        'UTC',
        rows,
      ),
    ).toBe(true);
    expect(rows.customerChanges).toEqual([
      {
        messageId: 7,
        customerId: 'c1',
        atMs: T0,
        status: 'offline',
        dailyBudgetMicros: 500,
        forBudget: false,
      },
      {
        messageId: 10,
        customerId: 'c2',
        atMs: T0,
        status: 'offline',
        dailyBudgetMicros: 500,
        forBudget: true,
      },
      { messageId: 8, customerId: 'c1', atMs: T0, status: 'deleted', dailyBudgetMicros: 0, forBudget: false },
    ]);
    expect(
      addRecord(
        'changes',
        buf({ entity: 'customer', op: 'upsert', id: 'x', data: { id: 'c1' } }),
        'UTC',
        rows,
      ),
    ).toBe(false);
  });

  it('splits a click id into its page view and position', () => {
    expect(splitClickId('9b1c-uuid:3')).toEqual({ pvId: '9b1c-uuid', position: 3 });
  });
});
