// The reports HTTP app through inject(), on a real in-memory DuckDB: the reports' JSON and CSV,
// the exact 400 bodies for bad input, the OpenAPI document and the dashboard's assets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { buildApp, type ReportsApp } from './app.js';
import { liveSnapshot } from './live.js';
import { createReportsMetrics } from './metrics.js';
import { ReportStore } from './store.js';
import { loadDay, T0, TOPICS, TZ } from './testing.js';

let store: ReportStore;
let built: ReportsApp;

beforeAll(async () => {
  store = await ReportStore.open(':memory:');
  await loadDay(store);
  built = buildApp({
    log: silentLogger(),
    store,
    metrics: createReportsMetrics(false),
    timeZone: TZ,
    today: () => '2026-11-20',
    snapshot: () => liveSnapshot({ store, timeZone: TZ, topics: TOPICS, topN: 5, now: () => T0 + 10_000 }),
    dashboardTickMs: 1000,
    readiness: () => undefined,
  });
});
afterAll(async () => {
  await built.app.close();
  await store.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  built.app.inject({ method: 'GET', url, headers });

describe('the reports API', () => {
  it("answers a customer's day in JSON, with cost equal to charged minus refunded", async () => {
    const res = await get('/v1/reports/customers/c1?day=2026-11-20');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      customerId: 'c1',
      day: '2026-11-20',
      impressions: 2,
      clicks: 2,
      invalidClicks: 1,
      invalidByReason: { duplicate: 1 },
      chargedMicros: 900_000,
      refundedMicros: 400_000,
      costMicros: 500_000,
    });
  });

  it('answers CSV with ?format=csv and with Accept: text/csv', async () => {
    const a = await get('/v1/reports/search-terms?customer=c1&day=2026-11-20&format=csv');
    expect(a.statusCode).toBe(200);
    expect(a.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(a.body.split('\r\n')[0]).toBe(
      'query,keyword,matchType,bidwordId,impressions,clicks,costMicros,ctr,avgCpcMicros,avgPosition',
    );
    expect(a.body).toContain('red shoes,red shoes,exact,b-c1,1,1,500000,1,500000,1\r\n');
    const b = await get('/v1/reports/customers?day=2026-11-20', { accept: 'text/csv' });
    expect(b.body.split('\r\n').filter(Boolean)).toHaveLength(3);
  });

  it('refuses a day that is not a date, a day not on the calendar, an unknown parameter and a bad dimension', async () => {
    const bad = await get('/v1/reports/customers/c1?day=2026-13-45');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_QUERY',
      error: 'Bad Request',
      message:
        'Invalid parameter "day": "2026-13-45" does not match. Expected: Report day YYYY-MM-DD in the report time zone (default: today)',
    });
    expect((await get('/v1/reports/customers/c1?day=2026-02-30')).json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_QUERY',
      error: 'Bad Request',
      message: 'Invalid parameter "day": 2026-02-30 is not a calendar day',
    });
    expect((await get('/v1/reports/customers/c1?dya=2026-11-20')).json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_QUERY',
      error: 'Bad Request',
      message: 'Unknown parameter "dya". Allowed: day, format',
    });
    const dim = await get('/v1/reports/customers/c1/breakdown?day=2026-11-20&by=colour');
    expect(dim.statusCode).toBe(400);
    expect(dim.json().message).toContain('Dimension: offer, bidword, region, hour');
    expect((await get('/v1/reports/search-terms?day=2026-11-20')).json().message).toBe(
      'Missing parameter "customer": Entity id (1-64 of A-Z a-z 0-9 _ . : -)',
    );
    const range = await get('/v1/reports/customers/c1/hourly?from=2026-11-20&to=2026-11-01');
    expect(range.statusCode).toBe(400);
  });

  it('serves breakdowns and the hourly range', async () => {
    const by = await get('/v1/reports/customers/c1/breakdown?day=2026-11-20&by=offer');
    expect(by.json().rows).toEqual([
      expect.objectContaining({ key: 'o-c1', impressions: 2, costMicros: 500_000 }),
    ]);
    const h = await get('/v1/reports/customers/c1/hourly?from=2026-11-01&to=2026-11-30');
    expect(h.json().rows).toEqual([
      { day: '2026-11-20', hour: 10, impressions: 2, clicks: 2, costMicros: 500_000 },
    ]);
  });

  it('publishes an OpenAPI document with the report routes', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/reports/customers/{id}', '/v1/reports/search-terms', '/v1/live']),
    );
    expect(doc.paths['/dashboard']).toBeUndefined();
  });

  it('serves the dashboard page, its script and uPlot from node_modules, and a live snapshot', async () => {
    const page = await get('/dashboard');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script src="/dashboard/uplot.min.js"></script>');
    const uplot = await get('/dashboard/uplot.min.js');
    expect(uplot.statusCode).toBe(200);
    expect(uplot.body).toContain('uPlot');
    expect((await get('/dashboard/uplot.min.css')).statusCode).toBe(200);
    expect((await get('/dashboard/app.js')).body).toContain("new EventSource('/v1/live/stream')");
    const live = (await get('/v1/live')).json();
    expect(live.today).toMatchObject({
      queries: 2,
      impressions: 3,
      clicks: 2,
      invalidClicks: 2,
      costMicros: 500_000,
    });
    expect(live.queries.reduce((a: number, b: number) => a + b, 0)).toBe(2);
    expect(live.topAdvertisers.today[0]).toMatchObject({
      key: 'c1',
      impressions: 2,
      clicks: 2,
      costMicros: 500_000,
    });
    expect(live.topKeywords.today.map((r: { key: string }) => r.key)).toEqual(['red shoes', 'blue shoes']);
  });
});
