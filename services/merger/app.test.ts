import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { MergeResponse } from '../../core/merge-contract.js';
import { HIT_FIELDS, type SearchHit } from '../../core/search-contract.js';
import { buildApp } from './app.js';
import { Balancer } from './balancer.js';
import { MergerMetrics } from './metrics.js';
import { hit, registration, stubFactory } from './test-support.js';

const CONFIG = { deadlineMs: 1_000, attemptTimeoutMs: 500, minRetryMs: 1, perCustomerMax: 2 };

function setup(
  columns: SearchHit[][],
  replicas = 1,
  options: { attemptTimeoutMs?: number; perCustomerMax?: number; maxInFlight?: number } = {},
) {
  const stubs = stubFactory(columns);
  const balancer = new Balancer({ clientFactory: stubs.factory, backoffMs: 1_000, maxBackoffMs: 1_000 });
  balancer.setReplicas(
    columns.map((_, c) => Array.from({ length: replicas }, (_, i) => registration(c, `r${i}`))),
  );
  const metrics = new MergerMetrics(balancer, { defaultMetrics: false });
  const app = buildApp({ ...CONFIG, ...options }, { log: silentLogger(), balancer, metrics });
  apps.push(app);
  return { app, stubs, balancer };
}

const apps: ReturnType<typeof buildApp>[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const merge = (app: ReturnType<typeof buildApp>, body: unknown) =>
  app.inject({ method: 'POST', url: '/merge', payload: body as object });

describe('POST /merge', () => {
  it('merges both columns, applies CDistinct after the merge, sorts and cuts to n', async () => {
    const { app } = setup([
      [hit('a1', 'A', 100), hit('a2', 'A', 90), hit('b1', 'B', 50)],
      [hit('a3', 'A', 95), hit('c1', 'C', 60), hit('c2', 'C', 10)],
    ]);
    const res = await merge(app, { query: 'red shoes', n: 4 });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.hits.map((h: SearchHit) => h.offerId)).toEqual(['a1', 'a3', 'c1', 'b1']);
    expect(body.coverage).toEqual({ columns: 2, answered: 2 });
    expect(body.degraded).toBe(false);
    expect(body.tookUs).toBeGreaterThanOrEqual(0);
  });

  it('passes query, region, category, fields and k = n to every column, asking for the lines form', async () => {
    const { app, stubs } = setup([[], []]);
    await merge(app, { query: 'red shoes', n: 3, region: 'DE', category: 'apparel', textExpansion: false });
    await merge(app, { query: 'red', n: 2, fields: ['score', 'offerId'] });
    for (const c of [0, 1]) {
      expect(stubs.clients.get(`${c}/r0`)!.requests).toEqual([
        {
          query: 'red shoes',
          k: 3,
          region: 'DE',
          category: 'apparel',
          textExpansion: false,
          format: 'lines',
        },
        { query: 'red', k: 2, fields: ['score', 'offerId'], format: 'lines' },
      ]);
    }
  });

  it('returns only the requested fields', async () => {
    const { app } = setup([[hit('a1', 'A', 100)], [hit('b1', 'B', 50)]]);
    const res = await merge(app, { query: 'q', n: 2, fields: ['offerId', 'score'] });
    expect(res.json().hits).toEqual([
      { offerId: 'a1', score: 100 },
      { offerId: 'b1', score: 50 },
    ]);
  });

  it('answers the same, byte for byte, when the columns answer in the lines form', async () => {
    const columns = [
      [hit('a1', 'A', 100), hit('a2', 'A', 99), hit('a3', 'A', 98), hit('d1', 'D', 97, 7000)],
      [hit('c1', 'C', 97, 9000), hit('c2', 'C', 10)],
    ];
    for (const body of [
      { query: 'q', n: 3 },
      { query: 'q', n: 4, fields: ['title', 'offerId', 'landingUrl'] },
      { query: 'q', n: 2, fields: HIT_FIELDS.filter((f) => f !== 'category') },
    ]) {
      const json = setup(columns);
      const lines = setup(columns);
      for (const stub of lines.stubs.clients.values()) stub.linesForm = true;
      const a = await merge(json.app, body);
      const b = await merge(lines.app, body);
      expect(b.statusCode).toBe(200);
      const strip = (text: string) => text.replace(/"tookUs":\d+/, '"tookUs":0');
      expect(strip(b.body)).toBe(strip(a.body));
      expect(Value.Errors(MergeResponse, b.json()).First()).toBeUndefined();
      // Every request asked for the lines form, the deeper round's too (CDistinct drops a3).
      for (const stub of lines.stubs.clients.values())
        expect(stub.requests.every((r) => r.format === 'lines')).toBe(true);
    }
  });

  it('asks a column again, deeper, when CDistinct leaves room for its unseen ads', async () => {
    // Column 0: A holds the top 3, then D. With n = 3 and k = 2, the answer needs D (col 0's 4th).
    const { app, stubs } = setup([
      [hit('a1', 'A', 100), hit('a2', 'A', 99), hit('a3', 'A', 98), hit('d1', 'D', 97)],
      [hit('c1', 'C', 10)],
    ]);
    const res = await merge(app, { query: 'q', n: 3 });
    expect(res.json().hits.map((h: SearchHit) => h.offerId)).toEqual(['a1', 'a2', 'd1']);
    expect(stubs.clients.get('0/r0')!.requests.map((r) => r.k)).toEqual([3, 100]);
    expect(stubs.clients.get('1/r0')!.requests.map((r) => r.k)).toEqual([3]);
  });

  it('answers degraded when a column it had to ask deeper does not answer the deeper round', async () => {
    const { app, stubs } = setup([
      [hit('a1', 'A', 100), hit('a2', 'A', 99), hit('a3', 'A', 98), hit('d1', 'D', 97)],
      [hit('c1', 'C', 10)],
    ]);
    const col0 = stubs.clients.get('0/r0')!;
    const search = col0.search.bind(col0);
    col0.search = (body, timeoutMs) => {
      if (col0.requests.length > 0) col0.mode = 'error';
      return search(body, timeoutMs);
    };
    const res = await merge(app, { query: 'q', n: 3 });
    expect(res.statusCode).toBe(200);
    // Without col 0's 4th ad the top 3 is unknown: it is not passed off as whole.
    expect(res.json().hits.map((h: SearchHit) => h.offerId)).toEqual(['a1', 'a2', 'c1']);
    expect(res.json().coverage).toEqual({ columns: 2, answered: 1 });
    expect(res.json().degraded).toBe(true);
  });

  it('asks deeper without text expansion a column that did not expand, and with it one that did', async () => {
    const text = (id: string, customer: string, score: number) => ({
      ...hit(id, customer, score),
      matchType: 'text' as const,
    });
    // One ad per customer: each column's first 3 hold one customer only, so both must go deeper.
    const { app, stubs } = setup(
      [
        [hit('a1', 'A', 100), hit('a2', 'A', 90), hit('a3', 'A', 80), hit('a4', 'A', 70)],
        [hit('b1', 'B', 95), text('b2', 'B', 94), text('b3', 'B', 93), text('e1', 'E', 10)],
      ],
      1,
      { perCustomerMax: 1 },
    );
    const res = await merge(app, { query: 'q', n: 3, textExpansion: true });
    expect(res.json().hits.map((h: SearchHit) => h.offerId)).toEqual(['a1', 'b1', 'e1']);
    const asked = (c: number) => stubs.clients.get(`${c}/r0`)!.requests.map((r) => [r.k, r.textExpansion]);
    expect(asked(0)).toEqual([
      [3, true],
      [100, false],
    ]);
    expect(asked(1)).toEqual([
      [3, true],
      [100, true],
    ]);
  });

  it('answers 200 degraded with the other column when every replica of one column fails', async () => {
    const { app, stubs } = setup([[hit('a1', 'A', 100)], [hit('b1', 'B', 50)]], 2);
    stubs.clients.get('0/r0')!.mode = 'error';
    stubs.clients.get('0/r1')!.mode = 'error';
    const res = await merge(app, { query: 'q', n: 5 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      hits: [{ offerId: 'b1' }],
      coverage: { columns: 2, answered: 1 },
      degraded: true,
    });
  });

  it('answers 502 when no column answers', async () => {
    const { app, stubs } = setup([[hit('a1', 'A', 100)], [hit('b1', 'B', 50)]]);
    stubs.clients.get('0/r0')!.mode = 'error';
    stubs.clients.get('1/r0')!.mode = 'error';
    const res = await merge(app, { query: 'q', n: 5 });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({
      statusCode: 502,
      code: 'IM_ERR_UPSTREAM_DOWN',
      error: 'Bad Gateway',
      message: 'No column answered (col-0: error, col-1: error)',
    });
  });

  it('answers 504 when every column timed out', async () => {
    const { app, stubs } = setup([[hit('a1', 'A', 100)]], 1, { attemptTimeoutMs: 10 });
    stubs.clients.get('0/r0')!.mode = 'hang';
    const res = await merge(app, { query: 'q', n: 5 });
    expect(res.statusCode).toBe(504);
    expect(res.json().code).toBe('IM_ERR_UPSTREAM_TIMEOUT');
  });

  it('refuses a merge beyond maxInFlight at once with 503 + Retry-After', async () => {
    const { app, stubs } = setup([[hit('a1', 'A', 100)]], 1, { maxInFlight: 1 });
    const slow = stubs.clients.get('0/r0')!;
    slow.mode = 'slow';
    slow.slowMs = 300;
    const first = merge(app, { query: 'q', n: 5 });
    while (slow.requests.length < 1) await new Promise((r) => setImmediate(r));
    const refused = await merge(app, { query: 'q', n: 5 });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ code: 'IM_ERR_OVERLOADED', statusCode: 503 });
    expect(slow.requests).toHaveLength(1);
    expect((await first).statusCode).toBe(200);
    slow.mode = 'ok';
    expect((await merge(app, { query: 'q', n: 5 })).statusCode).toBe(200);
  });

  it('answers 503 before any index layout is known', async () => {
    const { app } = setup([]);
    const res = await merge(app, { query: 'q', n: 5 });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().code).toBe('IM_ERR_NOT_READY');
  });

  describe('bad requests get a 400 that says what is allowed', () => {
    it('n out of range', async () => {
      const { app } = setup([[]]);
      const res = await merge(app, { query: 'q', n: 101 });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        statusCode: 400,
        code: 'IM_ERR_BAD_REQUEST',
        error: 'Bad Request',
        message: 'Invalid parameter "n": must be <= 100',
      });
    });

    it('n as text is not coerced', async () => {
      const { app } = setup([[]]);
      const res = await merge(app, { query: 'q', n: '5' });
      expect(res.json().message).toBe('Invalid parameter "n": must be integer');
    });

    it('missing query', async () => {
      const { app } = setup([[]]);
      const res = await merge(app, { n: 5 });
      expect(res.json().message).toBe('Missing parameter "query"');
    });

    it('unknown property', async () => {
      const { app } = setup([[]]);
      const res = await merge(app, { query: 'q', n: 5, k: 3 });
      expect(res.json().message).toBe(
        'Unknown parameter "k". Allowed: query, n, region, category, fields, textExpansion',
      );
    });

    it('unknown field name', async () => {
      const { app } = setup([[]]);
      const res = await merge(app, { query: 'q', n: 5, fields: ['offerId', 'price'] });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toBe(
        'Invalid parameter "fields.1": must be one of: offerId, customerId, bidwordId, keyword, matchType, bidMicros, qualityBp, score, title, category, imageUrl, landingUrl',
      );
    });

    it('not JSON', async () => {
      const { app } = setup([[]]);
      const res = await app.inject({
        method: 'POST',
        url: '/merge',
        payload: '{"query":',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('IM_ERR_BAD_REQUEST');
    });
  });
});

describe('health and metrics', () => {
  it('is ready once a column has a replica, and reports replica health', async () => {
    const { app } = setup([[], []], 2);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ready',
      columns: 2,
      replicas: [
        { healthy: 2, known: 2 },
        { healthy: 2, known: 2 },
      ],
    });
  });

  it('is not ready without an index layout', async () => {
    const { app } = setup([]);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toBe('Not ready: no index version is published');
  });

  it('counts retries and skipped columns in /metrics', async () => {
    const { app, stubs } = setup([[hit('a1', 'A', 100)], [hit('b1', 'B', 1)]], 2);
    stubs.clients.get('1/r0')!.mode = 'error';
    stubs.clients.get('1/r1')!.mode = 'error';
    await merge(app, { query: 'q', n: 5 });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('imatch_merger_retries_total{column="1"} 1');
    expect(text).toContain('imatch_merger_skipped_columns_total{column="1",reason="error"} 1');
    expect(text).toContain('imatch_merger_requests_total{result="degraded"} 1');
    expect(text).toContain('imatch_merger_replicas{column="1",state="unhealthy"} 2');
  });
});
