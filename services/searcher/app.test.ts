import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { HIT_LINES_TYPE, hitLine, parseHitLines } from '../../core/hit-lines.js';
import { silentLogger } from '../../core/logger.js';
import {
  type LostAd,
  type SearchHit,
  type SearchRequest,
  SearchResponse,
} from '../../core/search-contract.js';
import type { IndexPointer } from '../../core/zk-paths.js';
import { buildApp, createSearcherState } from './app.js';
import type { ColumnIndex } from './index/column-index.js';

// Route tests: the index behind the routes is a stub that records requests (the real index has
// its own tests in index/); everything else (schemas, errors, holder, metrics) is real.
const HIT: SearchHit = {
  offerId: 'o1',
  customerId: 'c1',
  bidwordId: 'b1',
  keyword: 'red shoes',
  matchType: 'exact',
  bidMicros: 1_500_000,
  qualityBp: 8000,
  score: 1_500_000 * 8000 * 100,
  title: 'Red running shoes',
  category: 'apparel/shoes',
  imageUrl: 'https://img.example/o1.jpg',
  landingUrl: 'https://shop.example/o1',
};

// A query containing "budget" also has an ad lost to budget.
const LOST: LostAd = {
  offerId: 'o9',
  customerId: 'c9',
  bidwordId: 'b9',
  matchType: 'phrase',
  qualityBp: 7000,
  score: 9,
};
const lostOf = (req: SearchRequest) => (req.query.includes('budget') ? [LOST] : []);
const lostJsonOf = (req: SearchRequest) => (req.query.includes('budget') ? JSON.stringify([LOST]) : '');

function stubIndex(seen: SearchRequest[]): ColumnIndex {
  return {
    version: 'v1',
    column: 0,
    columns: 2,
    watermark: 42,
    appliedId: 42,
    search: (req) => {
      seen.push(req);
      return [HIT];
    },
    searchWithLost: (req) => {
      seen.push(req);
      return { hits: [HIT], lostToBudget: lostOf(req) };
    },
    searchJson: (req) => {
      seen.push(req);
      return { json: JSON.stringify([HIT]), count: 1, lostJson: lostJsonOf(req) };
    },
    searchLines: (req) => {
      seen.push(req);
      return { lines: hitLine(HIT, JSON.stringify(HIT)), count: 1, lostJson: lostJsonOf(req) };
    },
    apply: () => false,
    stats: () => ({ customers: 3, offers: 10, bidwords: 25, negatives: 1, pendingBidwords: 0, heapBytes: 0 }),
    dump: () => ({ customers: [], offers: [], pendingBidwords: [] }),
  };
}

const POINTER: IndexPointer = {
  version: 'v1',
  dir: '/store/v1',
  columns: 2,
  watermark: 42,
  publishedAt: '2025-01-01T00:00:00.000Z',
};

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function setup(options: { loaded?: boolean; registered?: boolean } = {}) {
  const seen: SearchRequest[] = [];
  const log = silentLogger();
  const state = createSearcherState(
    { column: 0 },
    { log, load: async () => stubIndex(seen), processMetrics: false },
  );
  if (options.loaded !== false) {
    state.holder.request(POINTER);
    await state.holder.idle();
  }
  const app = buildApp(
    { column: 0, replica: 'r1' },
    { ...state, log, isRegistered: () => options.registered !== false },
  );
  apps.push(app);
  return { app, seen, state };
}

const search = (app: Awaited<ReturnType<typeof setup>>['app'], payload: unknown) =>
  app.inject({ method: 'POST', url: '/search', payload: payload as Record<string, unknown> });

describe('searcher app', () => {
  it('answers a search with the served version and the index hits', async () => {
    const { app, seen } = await setup();
    const res = await search(app, { query: 'Red Shoes', k: 5, region: 'US', category: 'apparel' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ column: 0, replica: 'r1', version: 'v1', appliedId: 42, hits: [HIT] });
    expect(body.tookUs).toBeGreaterThanOrEqual(0);
    expect(seen).toEqual([{ query: 'Red Shoes', k: 5, region: 'US', category: 'apparel' }]);
    // The hand-written answer is what the contract's schema describes, exactly.
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Value.Errors(SearchResponse, body).First()).toBeUndefined();
    expect(res.body).toBe(JSON.stringify({ ...body }));
  });

  it('answers in the lines form when asked: the envelope line, then each hit behind its ranking keys', async () => {
    const { app, seen } = await setup();
    const res = await search(app, {
      query: 'red shoes',
      k: 5,
      format: 'lines',
      fields: ['offerId', 'score'],
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(HIT_LINES_TYPE);
    const { envelope, hits } = parseHitLines(res.body);
    expect(envelope).toMatchObject({ column: 0, replica: 'r1', version: 'v1', appliedId: 42 });
    expect(envelope.tookUs).toBeGreaterThanOrEqual(0);
    expect(hits).toEqual([{ ...pickKeys(HIT), json: JSON.stringify(HIT) }]);
    // The request reaches the index whole (it does the projection).
    expect(seen).toEqual([{ query: 'red shoes', k: 5, format: 'lines', fields: ['offerId', 'score'] }]);
  });

  it('carries the ads lost to budget in both forms, as the schema describes them', async () => {
    const { app } = await setup();
    const json = await search(app, { query: 'budget shoes', k: 5 });
    expect(json.statusCode).toBe(200);
    const body = json.json();
    expect(body.lostToBudget).toEqual([LOST]);
    expect(Value.Errors(SearchResponse, body).First()).toBeUndefined();
    expect(json.body).toBe(JSON.stringify({ ...body }));
    const lines = await search(app, { query: 'budget shoes', k: 5, format: 'lines' });
    const { envelope, hits } = parseHitLines(lines.body);
    expect(envelope.lostToBudget).toEqual([LOST]);
    expect(hits).toHaveLength(1);
    // Without lost ads the field is left out.
    expect((await search(app, { query: 'red shoes', k: 5 })).json()).not.toHaveProperty('lostToBudget');
    expect(
      parseHitLines((await search(app, { query: 'red', k: 5, format: 'lines' })).body).envelope,
    ).not.toHaveProperty('lostToBudget');
  });

  it('refuses an unknown format or field with a 400', async () => {
    const { app, seen } = await setup();
    expect((await search(app, { query: 'red', k: 5, format: 'xml' })).statusCode).toBe(400);
    expect((await search(app, { query: 'red', k: 5, fields: ['price'] })).statusCode).toBe(400);
    expect(seen).toEqual([]);
  });
  it('answers 503 IM_ERR_NOT_READY with Retry-After while no index is loaded', async () => {
    const { app } = await setup({ loaded: false });
    const res = await search(app, { query: 'shoes', k: 5 });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({
      statusCode: 503,
      code: 'IM_ERR_NOT_READY',
      error: 'Service Unavailable',
      message: 'No index version is loaded yet; retry shortly',
    });
  });

  it.each([
    [{ k: 5 }, 'Missing parameter "query"'],
    [{ query: '', k: 5 }, 'Invalid parameter "query": must NOT have fewer than 1 characters'],
    [{ query: 'x'.repeat(201), k: 5 }, 'Invalid parameter "query": must NOT have more than 200 characters'],
    [{ query: 'shoes', k: 0 }, 'Invalid parameter "k": must be >= 1'],
    [{ query: 'shoes', k: 101 }, 'Invalid parameter "k": must be <= 100'],
    [{ query: 'shoes', k: '5' }, 'Invalid parameter "k": must be integer'],
    [{ query: 'shoes', k: 2.5 }, 'Invalid parameter "k": must be integer'],
    [
      { query: 'shoes', k: 5, region: 'usa' },
      'Invalid parameter "region": "usa" does not match. Expected: ISO 3166-1 alpha-2 country code',
    ],
    [
      { query: 'shoes', k: 5, category: 'Apparel//Shoes' },
      'Invalid parameter "category": "Apparel//Shoes" does not match. Expected: Category path, segments joined by "/"',
    ],
    [
      { query: 'shoes', k: 5, fuzzy: true },
      'Unknown parameter "fuzzy". Allowed: query, k, region, category, textExpansion, fields, format',
    ],
  ])('refuses %j with a 400 that names the problem', async (payload, message) => {
    const { app, seen } = await setup();
    const res = await search(app, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_REQUEST',
      error: 'Bad Request',
      message,
    });
    expect(seen).toEqual([]);
  });

  it('refuses a body that is not JSON with a 400', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/search',
      headers: { 'content-type': 'application/json' },
      payload: '{"query": "shoes", ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'IM_ERR_BAD_REQUEST', error: 'Bad Request' });
  });

  it('answers 404 with the list of routes for an unknown path', async () => {
    const { app } = await setup();
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      code: 'IM_ERR_NOT_FOUND',
      error: 'Not Found',
      message:
        'No route GET /nope. Routes: POST /search, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json',
    });
  });

  it('is alive at once and ready only with an index and a registration', async () => {
    const notLoaded = await setup({ loaded: false, registered: false });
    expect((await notLoaded.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const a = await notLoaded.app.inject({ url: '/readyz' });
    expect(a.statusCode).toBe(503);
    expect(a.json().message).toBe('Not ready: no index version is loaded, not registered in ZooKeeper');

    const unregistered = await setup({ registered: false });
    const b = await unregistered.app.inject({ url: '/readyz' });
    expect(b.statusCode).toBe(503);
    expect(b.json().message).toBe('Not ready: not registered in ZooKeeper');

    const ready = await setup();
    const c = await ready.app.inject({ url: '/readyz' });
    expect(c.statusCode).toBe(200);
    expect(c.json()).toEqual({
      status: 'ready',
      version: 'v1',
      appliedId: 42,
      registered: true,
      swapping: false,
    });
  });

  it('exposes request latency, index size, version and swap counters in /metrics', async () => {
    const { app } = await setup();
    await search(app, { query: 'shoes', k: 5 });
    await search(app, { query: 'shoes', k: 0 });
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(text).toContain('imatch_searcher_request_duration_seconds_count{route="/search",status="200"} 1');
    expect(text).toContain('imatch_searcher_request_duration_seconds_count{route="/search",status="400"} 1');
    expect(text).toContain('imatch_searcher_index_offers 10');
    expect(text).toContain('imatch_searcher_index_bidwords 25');
    expect(text).toContain('imatch_searcher_index_customers 3');
    expect(text).toContain('imatch_searcher_applied_id 42');
    expect(text).toContain('imatch_searcher_index_version_info{version="v1"} 1');
    expect(text).toContain('imatch_searcher_swaps_total 1');
  });
});

function pickKeys(h: SearchHit) {
  return {
    score: h.score,
    qualityBp: h.qualityBp,
    matchType: h.matchType,
    offerId: h.offerId,
    customerId: h.customerId,
  };
}
