import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { liveSnapshot, TodayCache } from './live.js';
import { ReportStore } from './store.js';
import { loadDay, pv, rowsOf, T0, TOPICS, TZ } from './testing.js';

let store: ReportStore;
beforeEach(async () => {
  store = await ReportStore.open(':memory:');
  await loadDay(store);
});
afterEach(async () => {
  await store.close();
});

const snapshotAt = (ms: number, todayCache?: TodayCache) =>
  liveSnapshot({ store, timeZone: TZ, topics: TOPICS, topN: 5, now: () => ms, todayCache });

/** One more page view, at `ms`, for customer c3 (its first). */
async function onePageView(ms: number): Promise<void> {
  await store.applyBatch(rowsOf('pv', [pv('p-late', ms, [{ customerId: 'c3', priceMicros: 1 }])]), {
    topic: 'pv',
    partition: 0,
    nextOffset: '4',
  });
}

describe('the live snapshot', () => {
  it("computes today's totals and top-N on every snapshot without a cache", async () => {
    expect((await snapshotAt(T0 + 10_000)).today.queries).toBe(2);
    await onePageView(T0 + 11_000);
    const s = await snapshotAt(T0 + 12_000);
    expect(s.today.queries).toBe(3);
    expect(s.todayAsOfMs).toBe(T0 + 12_000);
  });

  it("keeps today's part while the cache is fresh, the recent windows move on every snapshot", async () => {
    const cache = new TodayCache(60_000);
    const first = await snapshotAt(T0 + 10_000, cache);
    expect(first.today).toMatchObject({ queries: 2, impressions: 3 });
    await onePageView(T0 + 11_000);

    const cached = await snapshotAt(T0 + 12_000, cache);
    expect(cached.today).toEqual(first.today);
    expect(cached.todayAsOfMs).toBe(T0 + 10_000);
    expect(cached.topAdvertisers.today.map((r) => r.key)).not.toContain('c3');
    // The new page view is in the per-second series and the last five minutes already.
    expect(cached.queries[cached.seconds.indexOf((T0 + 11_000) / 1000)]).toBe(1);
    expect(cached.topAdvertisers.last5m.map((r) => r.key)).toContain('c3');

    const later = await snapshotAt(T0 + 71_000, cache);
    expect(later.today).toMatchObject({ queries: 3, impressions: 4 });
    expect(later.todayAsOfMs).toBe(T0 + 71_000);
    expect(later.topAdvertisers.today.map((r) => r.key)).toContain('c3');
  });

  it('recomputes a cached today on a new day', async () => {
    const cache = new TodayCache(3_600_000);
    expect((await snapshotAt(T0 + 10_000, cache)).today.queries).toBe(2);
    const nextDay = await snapshotAt(T0 + 86_400_000, cache);
    expect(nextDay.day).toBe('2026-11-21');
    expect(nextDay.today.queries).toBe(0);
  });
});
