// The reports database on a real (in-memory) DuckDB: rows and positions in one transaction,
// replays and duplicates counted once, billing's refund rules, and rollups that change no number.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { breakdown, customerDay, customersDay, hourly, searchTerms } from './queries.js';
import { addRecord, emptyRows, type Rows, type TopicKind } from './records.js';
import { ReportStore } from './store.js';

const TZ = 'UTC';
const T0 = Date.parse('2026-11-20T10:15:00Z');
let store: ReportStore;

beforeEach(async () => {
  store = await ReportStore.open(':memory:');
});
afterEach(async () => {
  await store.close();
});

function pv(
  pvId: string,
  timeMs: number,
  ads: { customerId: string; priceMicros: number; keyword?: string }[],
  q = 'red shoes',
) {
  return {
    v: 1,
    pvId,
    timeMs,
    time: new Date(timeMs).toISOString(),
    query: { raw: q, normalized: q, rewritten: q, synonyms: [], stopwords: [] },
    n: 5,
    region: 'DE',
    user: { clientDigest: '0000000000000000' },
    coverage: { columns: 2, answered: 2 },
    degraded: false,
    pricing: { reserveMicros: 10_000, stepMicros: 10_000 },
    ads: ads.map((a, i) => ({
      position: i + 1,
      offerId: `o-${a.customerId}`,
      customerId: a.customerId,
      bidwordId: `b-${a.customerId}`,
      keyword: a.keyword ?? q,
      matchType: 'exact',
      bidMicros: 1_000_000,
      qualityBp: 5000,
      score: 1,
      priceMicros: a.priceMicros,
    })),
    tookMs: 1,
  };
}

function decision(clickId: string, customerId: string, reason: string, priceMicros: number, seq: number) {
  const [pvId, position] = clickId.split(':') as [string, string];
  return {
    v: 1,
    clickId,
    decisionId: `cf-1:${seq}`,
    instance: 'cf-1',
    billable: reason === 'ok',
    reason,
    pvId,
    position: Number(position),
    offerId: `o-${customerId}`,
    customerId,
    bidwordId: `b-${customerId}`,
    priceMicros,
    bidMicros: 1_000_000,
    issuedAtMs: T0,
    clickedAtMs: T0 + 5_000,
    ip: '192.0.2.1',
    uaDigest: '0123456789abcdef',
    userKey: 'u1',
    kid: 1,
  };
}

function settlement(clickId: string, customerId: string, priceMicros: number) {
  return {
    v: 1,
    clickId,
    customerId,
    offerId: `o-${customerId}`,
    bidwordId: `b-${customerId}`,
    priceMicros,
    clickedAtMs: T0 + 5_000,
    instance: 'cf-1',
  };
}

function refund(
  refundId: string,
  clickId: string,
  customerId: string,
  amountMicros: number,
  reason = 'burst-ip',
) {
  return {
    v: 1,
    refundId,
    clickId,
    customerId,
    amountMicros,
    reason,
    hour: '2026-11-20T10',
    createdAtMs: T0 + 3_600_000,
  };
}

function rowsOf(kind: TopicKind, records: unknown[]): Rows {
  const rows = emptyRows();
  for (const r of records) expect(addRecord(kind, Buffer.from(JSON.stringify(r)), TZ, rows)).toBe(true);
  return rows;
}

async function load(): Promise<void> {
  await store.applyBatch(
    rowsOf('pv', [
      pv('p1', T0, [
        { customerId: 'c1', priceMicros: 500_000 },
        { customerId: 'c2', priceMicros: 200_000 },
      ]),
      pv('p2', T0 + 1000, [{ customerId: 'c1', priceMicros: 400_000 }], 'blue shoes'),
      pv('p1', T0, [
        { customerId: 'c1', priceMicros: 500_000 },
        { customerId: 'c2', priceMicros: 200_000 },
      ]),
    ]),
    { topic: 'pv', partition: 0, nextOffset: '3' },
  );
  await store.applyBatch(
    rowsOf('clicks', [
      decision('p1:1', 'c1', 'ok', 500_000, 1),
      decision('p1:1', 'c1', 'duplicate', 500_000, 2),
      decision('p1:2', 'c2', 'bot', 200_000, 3),
      decision('p2:1', 'c1', 'ok', 400_000, 4),
      decision('p2:1', 'c1', 'ok', 400_000, 4), // a producer retry: same decision id
    ]),
    { topic: 'clicks', partition: 0, nextOffset: '5' },
  );
  await store.applyBatch(
    rowsOf('settlement', [
      settlement('p1:1', 'c1', 500_000),
      settlement('p2:1', 'c1', 400_000),
      settlement('p1:1', 'c1', 999_999), // a second settlement of the same click: the first wins
    ]),
    { topic: 'settlement', partition: 0, nextOffset: '3' },
  );
  await store.applyBatch(
    rowsOf('corrections', [
      refund('rf:p2:1', 'p2:1', 'c1', 300_000),
      refund('rf:p2:1', 'p2:1', 'c1', 300_000), // the same refund id again
      refund('x:p2:1', 'p2:1', 'c1', 300_000), // capped at what is left of the click: 100,000
      refund('dup:p1:1:cf-2:9', 'p1:1', 'c1', 500_000, 'duplicate'), // moves no money
      refund('rf:p1:1', 'p1:1', 'c2', 500_000), // another customer's click: moves no money
    ]),
    { topic: 'corrections', partition: 0, nextOffset: '5' },
  );
}

describe('the reports store', () => {
  it("counts each page view, decision, charge and refund once and applies billing's refund rules", async () => {
    await load();
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
    await load();
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
    await load();
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
    await load();
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
});
