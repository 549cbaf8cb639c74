// The reports database on a real (in-memory) DuckDB: rows and positions in one transaction,
// replays and duplicates counted once, billing's refund rules, and rollups that change no number.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { breakdown, customerDay, customersDay, hourly, lostToBudget, searchTerms } from './queries.js';
import { ReportStore } from './store.js';
import { customerChange, loadDay, pv, rowsOf, T0, TZ } from './testing.js';

let store: ReportStore;

beforeEach(async () => {
  store = await ReportStore.open(':memory:');
});
afterEach(async () => {
  await store.close();
});

describe('the reports store', () => {
  it("counts each page view, decision, charge and refund once and applies billing's refund rules", async () => {
    await loadDay(store);
    const c1 = await customerDay(store, 'c1', '2026-11-20', TZ);
    expect(c1).toMatchObject({
      customerId: 'c1',
      day: '2026-11-20',
      impressions: 2,
      clicks: 2,
      invalidClicks: 1,
      invalidByReason: { duplicate: 1 },
      decisionsByReason: { ok: 2, duplicate: 1 },
      chargedMicros: 900_000,
      refundedMicros: 400_000,
      costMicros: 500_000,
      refundedClicks: 1,
      ctr: 1,
      avgCpcMicros: 250_000,
      avgPosition: 1,
    });
    const c2 = await customerDay(store, 'c2', '2026-11-20', TZ);
    expect(c2).toMatchObject({
      impressions: 1,
      clicks: 0,
      invalidByReason: { bot: 1 },
      costMicros: 0,
      avgPosition: 2,
    });
    const all = await customersDay(store, '2026-11-20');
    expect(all.map((r) => [r.customerId, r.costMicros, r.impressions])).toEqual([
      ['c1', 500_000, 2],
      ['c2', 0, 1],
    ]);
    expect(await customerDay(store, 'c1', '2026-11-21', TZ)).toMatchObject({
      impressions: 0,
      clicks: 0,
      costMicros: 0,
    });
  });

  it('stores the next offset with the rows and ignores a batch that is not past it', async () => {
    await loadDay(store);
    expect(store.nextOffset('pv', 0)).toBe(3n);
    expect(await store.positions()).toContainEqual({ topic: 'settlement', partition: 0, nextOffset: '3' });
    const again = await store.applyBatch(
      rowsOf('pv', [pv('p9', T0, [{ customerId: 'c1', priceMicros: 1 }])]),
      {
        topic: 'pv',
        partition: 0,
        nextOffset: '3',
      },
    );
    expect(again.pageViews).toBe(0);
    expect((await customerDay(store, 'c1', '2026-11-20', TZ)).impressions).toBe(2);
  });

  it('counts a page view id stored by an earlier batch once, and stores the new ones of the batch', async () => {
    await loadDay(store);
    const next = await store.applyBatch(
      rowsOf('pv', [
        pv('p2', T0 + 1000, [{ customerId: 'c1', priceMicros: 400_000 }], 'blue shoes'),
        pv('p9', T0 + 2000, [
          { customerId: 'c1', priceMicros: 1 },
          { customerId: 'c2', priceMicros: 1 },
        ]),
      ]),
      { topic: 'pv', partition: 0, nextOffset: '5' },
    );
    expect(next).toMatchObject({ pageViews: 1, impressions: 2 });
    expect((await customerDay(store, 'c1', '2026-11-20', TZ)).impressions).toBe(3);
    expect((await customerDay(store, 'c2', '2026-11-20', TZ)).impressions).toBe(2);
  });

  it('reopens a database file with its rows and positions', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'reports-store-'));
    try {
      const file = join(dir, 'r.duckdb');
      const a = await ReportStore.open(file);
      await a.applyBatch(rowsOf('pv', [pv('p1', T0, [{ customerId: 'c1', priceMicros: 1 }])]), {
        topic: 'pv',
        partition: 0,
        nextOffset: '1',
      });
      const id = a.id;
      await a.close();
      const b = await ReportStore.open(file);
      expect(b.id).toBe(id);
      expect(b.nextOffset('pv', 0)).toBe(1n);
      expect((await customerDay(b, 'c1', '2026-11-20', TZ)).impressions).toBe(1);
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('search terms, breakdowns and hours add up to the day', async () => {
    await loadDay(store);
    const terms = await searchTerms(store, 'c1', '2026-11-20', 100);
    expect(terms).toEqual([
      expect.objectContaining({
        query: 'red shoes',
        keyword: 'red shoes',
        matchType: 'exact',
        impressions: 1,
        clicks: 1,
        costMicros: 500_000,
      }),
      expect.objectContaining({ query: 'blue shoes', impressions: 1, clicks: 1, costMicros: 0 }),
    ]);
    const byRegion = await breakdown(store, 'c1', '2026-11-20', 'region');
    expect(byRegion).toEqual([
      expect.objectContaining({ key: 'DE', impressions: 2, clicks: 2, costMicros: 500_000 }),
    ]);
    const byHour = await breakdown(store, 'c1', '2026-11-20', 'hour');
    expect(byHour).toEqual([
      expect.objectContaining({ key: '10', impressions: 2, invalidClicks: 1, costMicros: 500_000 }),
    ]);
    expect(await hourly(store, 'c1', '2026-11-01', '2026-11-30')).toEqual([
      { day: '2026-11-20', hour: 10, impressions: 2, clicks: 2, costMicros: 500_000 },
    ]);
  });

  it('rolling a day up into hourly rollups changes no number of that day', async () => {
    await loadDay(store);
    const before = await Promise.all([
      customerDay(store, 'c1', '2026-11-20', TZ),
      customerDay(store, 'c2', '2026-11-20', TZ),
      searchTerms(store, 'c1', '2026-11-20', 100),
      breakdown(store, 'c1', '2026-11-20', 'region'),
    ]);
    expect(await store.rollup('2026-11-21')).toBe(3);
    const raw = await store.query(`SELECT count(*) AS n FROM ad_impressions`);
    expect(raw[0]!.n).toBe(0);
    const after = await Promise.all([
      customerDay(store, 'c1', '2026-11-20', TZ),
      customerDay(store, 'c2', '2026-11-20', TZ),
      searchTerms(store, 'c1', '2026-11-20', 100),
      breakdown(store, 'c1', '2026-11-20', 'region'),
    ]);
    expect(after).toEqual(before);
    expect(await store.rollup('2026-11-21')).toBe(0);
  });

  it('counts the impressions lost to budget the page views recorded, once, and the time offline for budget only', async () => {
    // c1 goes offline for budget for 60 s (billing: offlineReason budget); 10 page views in that
    // time would have shown its ad (at position 1 or 2), and 3 of them a second ad of c1 as well.
    // c2 is paused by the BP (no reason): not time offline for budget.
    const during = Array.from({ length: 10 }, (_, i) =>
      pv(`b${i}`, T0 + 20_000 + i * 1000, [{ customerId: 'c3', priceMicros: 1 }], 'red shoes', [
        { customerId: 'c1', position: 1 + (i % 2) },
        ...(i < 3 ? [{ customerId: 'c1', position: 3 }] : []),
      ]),
    );
    const other = pv('z0', T0 + 90_000, [{ customerId: 'c3', priceMicros: 1 }]);
    // A retried record (the same page view twice, in the batch and in a later one) counts once.
    await store.applyBatch(rowsOf('pv', [...during, during[0]!, other]), {
      topic: 'pv',
      partition: 0,
      nextOffset: '12',
    });
    await store.applyBatch(rowsOf('pv', [during[1]!]), { topic: 'pv', partition: 0, nextOffset: '13' });
    await store.applyBatch(
      rowsOf('changes', [
        customerChange(1, 'c1', 'online', 600_000, T0 - 3_600_000),
        customerChange(2, 'c2', 'online', 600_000, T0 - 3_600_000),
        customerChange(3, 'c1', 'offline', 600_000, T0 + 10_000, 'budget'),
        customerChange(4, 'c2', 'offline', 600_000, T0 + 10_000),
        customerChange(5, 'c1', 'online', 600_000, T0 + 70_000),
        { entity: 'offer', op: 'upsert', id: 6, acceptedAt: new Date(T0).toISOString(), data: { id: 'o1' } },
      ]),
      { topic: 'changes', partition: 0, nextOffset: '6' },
    );
    expect(await lostToBudget(store, 'c1', '2026-11-20', TZ, T0 + 3_600_000)).toEqual({
      offlineForBudgetMs: 60_000,
      impressionsLostToBudget: 13,
    });
    expect(await lostToBudget(store, 'c2', '2026-11-20', TZ, T0 + 3_600_000)).toEqual({
      offlineForBudgetMs: 0,
      impressionsLostToBudget: 0,
    });
    expect(await customerDay(store, 'c1', '2026-11-20', TZ, T0 + 3_600_000)).toMatchObject({
      impressions: 0,
      impressionsLostToBudget: 13,
      offlineForBudgetMs: 60_000,
    });
    // The lost ads do not count as impressions of anyone.
    expect((await customerDay(store, 'c3', '2026-11-20', TZ)).impressions).toBe(11);
    // Another day is not touched by that interval.
    expect(await lostToBudget(store, 'c1', '2026-11-21', TZ, T0 + 3 * 86_400_000)).toEqual({
      offlineForBudgetMs: 0,
      impressionsLostToBudget: 0,
    });
    // Rolled up past the retention, the count stays.
    await store.rollup('2026-11-21');
    expect((await store.query(`SELECT count(*) AS n FROM budget_losses`))[0]!.n).toBe(0);
    expect((await lostToBudget(store, 'c1', '2026-11-20', TZ, T0 + 3_600_000)).impressionsLostToBudget).toBe(
      13,
    );
  });
});
