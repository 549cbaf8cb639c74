import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyring, decodeClickToken } from '../../core/click-token.js';
import { ManualClock } from '../../core/clock.js';
import { ImatchError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { MergeRequest, MergeResponse } from '../../core/merge-contract.js';
import type { PvRecord } from '../../core/pv-record.js';
import { qualityToBp, type RankedMatchType, score } from '../../core/ranking.js';
import type { SearchHit } from '../../core/search-contract.js';
import { coordOf, FEATURES_VERSION } from '../../learner/features.js';
import { CtrModel } from '../../learner/model-file.js';
import { buildApp } from './app.js';
import type { MergerClient } from './merger-client.js';
import { createBlenderMetrics } from './metrics.js';
import { priceOneByCtr } from './pricing-ctr.js';
import { RuntimeSettings } from './runtime-config.js';

const keyring = createKeyring(new Map([[3, randomBytes(32)]]), 3);
const NOW = Date.parse('2026-11-22T10:00:00Z');

function hit(id: number, bid: number, quality = 1, matchType: RankedMatchType = 'exact'): SearchHit {
  const qualityBp = qualityToBp(quality);
  return {
    offerId: `o${id}`,
    customerId: `c${id}`,
    bidwordId: `b${id}`,
    keyword: 'running shoe',
    matchType,
    bidMicros: bid,
    qualityBp,
    score: score(bid, qualityBp, matchType),
    title: `Shoe ${id}`,
    category: 'apparel/shoes',
    imageUrl: `https://img.example.com/${id}.jpg`,
    landingUrl: `https://Shop${id}.example.com:8443/p/${id}?ref=ads`,
  };
}

class StubMerger implements MergerClient {
  requests: MergeRequest[] = [];
  size = 1;
  fail: ImatchError | undefined;
  /** Sent as the answer's lostToBudget when set. */
  lost: MergeResponse['lostToBudget'];
  /** When set, every merge waits for it (requests held in flight). */
  gate: Promise<void> | undefined;
  constructor(
    public hits: SearchHit[],
    public coverage = { columns: 2, answered: 2 },
  ) {}
  async merge(request: MergeRequest): Promise<MergeResponse> {
    this.requests.push(request);
    if (this.gate !== undefined) await this.gate;
    if (this.fail !== undefined) throw this.fail;
    const fields = request.fields;
    const hits = this.hits.slice(0, request.n).map((h) => {
      if (fields === undefined) return h;
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f] = h[f];
      return out;
    });
    const answer: MergeResponse = {
      hits,
      coverage: this.coverage,
      degraded: this.coverage.answered < this.coverage.columns,
      tookUs: 100,
    };
    if (this.lost !== undefined) answer.lostToBudget = this.lost;
    return answer;
  }
  async close(): Promise<void> {}
}

function setup(
  hits: SearchHit[] = [hit(1, 5_000_000), hit(2, 2_500_000), hit(3, 2_000_000)],
  maxInFlight?: number,
  clickModel?: CtrModel,
) {
  const merger = new StubMerger(hits);
  const pv: PvRecord[] = [];
  const log = silentLogger();
  const metrics = createBlenderMetrics({ processMetrics: false });
  const runtime = new RuntimeSettings({ reserveMicros: 50_000, stepMicros: 10_000 }, log, metrics);
  const app = buildApp(
    { clickBaseUrl: 'https://click.example.com/', textExpansion: true, maxInFlight: maxInFlight ?? 64 },
    {
      merger,
      pvLog: { append: (r) => pv.push(r) > 0 },
      runtime,
      keyring,
      metrics,
      log,
      clock: new ManualClock(NOW),
      clickModel: () => clickModel,
    },
  );
  return { app, merger, pv, runtime, metrics };
}

let current: ReturnType<typeof setup> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

function use(hits?: SearchHit[], maxInFlight?: number, clickModel?: CtrModel) {
  current = setup(hits, maxInFlight, clickModel);
  return current;
}

/** A click model with hand-set weights: bias, and the `offer=` feature of some offers. */
function modelWith(offerWeights: Record<string, number>, bias = -3): CtrModel {
  const bits = 16;
  const w = new Map<number, number>([[coordOf('bias', bits), bias]]);
  for (const [offer, weight] of Object.entries(offerWeights)) w.set(coordOf(`offer=${offer}`, bits), weight);
  const coords = Uint32Array.from([...w.keys()].sort((a, b) => a - b));
  const weights = Float32Array.from([...coords].map((c) => w.get(c)!));
  return new CtrModel({
    version: 9,
    bits,
    featuresVersion: FEATURES_VERSION,
    createdAtMs: 0,
    examples: 1,
    coords,
    weights,
  });
}

describe('blender GET /v1/ads', () => {
  it('answers DESIGN.md shape with GSP prices, asking the merger n+1 ads', async () => {
    const { app, merger } = use();
    const res = await app.inject({ method: 'GET', url: '/v1/ads?q=Running+Shoes&n=2' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['requestId', 'arm', 'ads', 'coverage', 'degraded', 'tookMs']);
    expect(body.arm).toBe('quality');
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.coverage).toEqual({ columns: 2, answered: 2 });
    expect(body.degraded).toBe(false);
    expect(body.ads).toHaveLength(2);
    expect(body.ads[0]).toEqual({
      position: 1,
      offerId: 'o1',
      customerId: 'c1',
      bidwordId: 'b1',
      keyword: 'running shoe',
      matchType: 'exact',
      title: 'Shoe 1',
      imageUrl: 'https://img.example.com/1.jpg',
      displayUrl: 'shop1.example.com:8443',
      clickUrl: expect.stringMatching(/^https:\/\/click\.example\.com\/c\/[A-Za-z0-9_-]+$/),
      priceMicros: 2_510_000,
    });
    expect(body.ads[1].priceMicros).toBe(2_010_000);
    expect(merger.requests).toHaveLength(1);
    expect(merger.requests[0]).toMatchObject({ query: 'running shoe', n: 3, textExpansion: true });
    expect(merger.requests[0]!.fields).toContain('landingUrl');
  });

  it('puts a genuine token in each click URL carrying the ad, its price and the page view', async () => {
    const { app } = use();
    const body = (await app.inject({ method: 'GET', url: '/v1/ads?q=shoes&n=3' })).json();
    const third = body.ads[2];
    const token = third.clickUrl.split('/c/')[1];
    const decoded = decodeClickToken(keyring, token);
    expect(decoded).toEqual({
      ok: true,
      kid: 3,
      payload: {
        pvId: body.requestId,
        position: 3,
        offerId: 'o3',
        customerId: 'c3',
        bidwordId: 'b3',
        priceMicros: 50_000, // last ad, no competitor: the reserve
        bidMicros: 2_000_000,
        issuedAtMs: NOW,
        landingUrl: 'https://Shop3.example.com:8443/p/3?ref=ads',
        clientDigest: '0000000000000000',
      },
    });
  });

  it('writes one page-view record matching the answer', async () => {
    const { app, pv } = use();
    const body = (
      await app.inject({ method: 'GET', url: '/v1/ads?q=cheap+shoes&n=2&region=DE&user=u-1' })
    ).json();
    expect(pv).toHaveLength(1);
    const record = pv[0]!;
    expect(record).toMatchObject({
      v: 1,
      pvId: body.requestId,
      timeMs: NOW,
      time: '2026-11-22T10:00:00.000Z',
      query: {
        raw: 'cheap shoes',
        normalized: 'cheap shoe',
        rewritten: 'cheap shoe',
        synonyms: [],
        stopwords: [],
      },
      n: 2,
      region: 'DE',
      user: { id: 'u-1', clientDigest: '0000000000000000' },
      coverage: { columns: 2, answered: 2 },
      degraded: false,
      pricing: { reserveMicros: 50_000, stepMicros: 10_000 },
      nextScore: hit(3, 2_000_000).score,
      arm: 'quality',
    });
    expect(record.modelVersion).toBeUndefined();
    expect(record.ads[0]!.ctrPpm).toBeUndefined();
    expect(record.ads.map((a) => [a.position, a.offerId, a.bidMicros, a.priceMicros])).toEqual(
      body.ads.map((a: { position: number; offerId: string; priceMicros: number }, i: number) => [
        a.position,
        a.offerId,
        [5_000_000, 2_500_000][i],
        a.priceMicros,
      ]),
    );
  });

  it('applies the run-time QRW dictionary to the next request', async () => {
    const { app, merger, pv, runtime } = use();
    runtime.updateQrw(JSON.stringify({ synonyms: { sneakers: ['shoes'] }, stopwords: ['cheap'] }), 'v1');
    await app.inject({ method: 'GET', url: '/v1/ads?q=cheap+sneakers' });
    expect(merger.requests[0]!.query).toBe('shoe');
    expect(pv[0]!.query).toMatchObject({ rewritten: 'shoe', synonyms: ['sneaker'], stopwords: ['cheap'] });
  });

  it('applies a run-time pricing rule to the next request', async () => {
    const { app, runtime } = use([hit(1, 5_000_000)]);
    expect(runtime.updatePricing('{"reserveMicros": 1230000}', 'v2')).toBe(true);
    const body = (await app.inject({ method: 'GET', url: '/v1/ads?q=shoes' })).json();
    expect(body.ads[0].priceMicros).toBe(1_230_000);
    expect(runtime.updatePricing('{"stepMicros": 0}', 'v3')).toBe(false);
    expect(runtime.pricing.reserveMicros).toBe(1_230_000);
  });

  it('shows every ad with the reserve for the last one when the merger has fewer than n+1', async () => {
    const { app } = use([hit(1, 5_000_000), hit(2, 2_500_000)]);
    const body = (await app.inject({ method: 'GET', url: '/v1/ads?q=shoes&n=5' })).json();
    expect(body.ads.map((a: { priceMicros: number }) => a.priceMicros)).toEqual([2_510_000, 50_000]);
  });

  it('answers an empty ad list when nothing matches', async () => {
    const { app, pv } = use([]);
    const res = await app.inject({ method: 'GET', url: '/v1/ads?q=zzz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().ads).toEqual([]);
    expect(pv[0]!.ads).toEqual([]);
  });

  it('records the ads lost to budget that would have been among the n shown in the PV record only', async () => {
    const { app, merger, pv } = use();
    const lost = (offerId: string, position: number) => ({
      offerId,
      customerId: `c-${offerId}`,
      bidwordId: `b-${offerId}`,
      matchType: 'phrase' as const,
      qualityBp: 5000,
      score: 1,
      position,
    });
    // n = 2: the merger was asked 3 and ranks lost ads in those 3; the third place is not shown.
    merger.lost = [lost('x', 1), lost('y', 3)];
    const body = (await app.inject({ method: 'GET', url: '/v1/ads?q=shoes&n=2' })).json();
    expect(body).not.toHaveProperty('lostToBudget');
    expect(pv[0]!.lostToBudget).toEqual([{ position: 1, offerId: 'x', customerId: 'c-x', bidwordId: 'b-x' }]);
    merger.lost = undefined;
    await app.inject({ method: 'GET', url: '/v1/ads?q=shoes&n=2' });
    expect(pv[1]).not.toHaveProperty('lostToBudget');
  });

  it('passes degraded coverage through', async () => {
    const { app, merger } = use();
    merger.coverage = { columns: 2, answered: 1 };
    const body = (await app.inject({ method: 'GET', url: '/v1/ads?q=shoes' })).json();
    expect(body.degraded).toBe(true);
    expect(body.coverage).toEqual({ columns: 2, answered: 1 });
  });
});

describe('blender experiment arms', () => {
  it('ranks the ctr arm by bid x learned pCTR and prices it by GSP in the same terms', async () => {
    // o3 bids least but the model says it is clicked far more; o1 is clicked far less.
    const model = modelWith({ o3: 2.5, o1: -2 });
    const { app, merger, pv, runtime } = use(undefined, undefined, model);
    expect(runtime.updateExperiment('{"arms":{"ctr":100}}', 'v1')).toBe(true);
    const body = (await app.inject({ method: 'GET', url: '/v1/ads?q=running+shoes&n=2&user=u1' })).json();
    expect(body.arm).toBe('ctr');
    expect(merger.requests[0]!.n).toBe(20); // --ctr-candidates, re-ranked here
    expect(body.ads.map((a: { offerId: string }) => a.offerId)).toEqual(['o3', 'o2']);
    const record = pv[0]!;
    expect(record.arm).toBe('ctr');
    expect(record.modelVersion).toBe(9);
    const ppm = record.ads.map((a) => a.ctrPpm!);
    // Warm offers: the model's own prediction; o2 is cold: the model's level x its relative quality (1).
    expect(ppm[0]).toBe(Math.round(1_000_000 / (1 + Math.exp(-(-3 + 2.5)))));
    expect(ppm[1]).toBe(Math.round(1_000_000 / (1 + Math.exp(3))));
    const o1Ppm = Math.round(1_000_000 / (1 + Math.exp(5)));
    const rule = { reserveMicros: 50_000, stepMicros: 10_000 };
    const ads = [
      { offerId: 'o3', bidMicros: 2_000_000, ctrPpm: ppm[0]! },
      { offerId: 'o2', bidMicros: 2_500_000, ctrPpm: ppm[1]! },
      { offerId: 'o1', bidMicros: 5_000_000, ctrPpm: o1Ppm },
    ];
    expect(body.ads.map((a: { priceMicros: number }) => a.priceMicros)).toEqual([
      priceOneByCtr(ads[0]!, ads[1], rule),
      priceOneByCtr(ads[1]!, ads[2], rule),
    ]);
    // Hand-checked: o3 pays what makes 0.3775 x price reach o2's 2.5 x 0.0474, plus a step.
    expect(body.ads[0].priceMicros).toBe(330_000);
    expect(record.nextScore).toBe(5_000_000 * o1Ppm);
  });

  it('keeps the quality arm as it was and splits users by the configured shares', async () => {
    const { app, runtime, metrics } = use(undefined, undefined, modelWith({ o3: 5 }));
    runtime.updateExperiment('{"arms":{"quality":50,"ctr":50}}', 'v1');
    const arms = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const b = (await app.inject({ method: 'GET', url: `/v1/ads?q=running+shoes&n=2&user=u${i}` })).json();
      arms.set(`u${i}`, b.arm);
      expect(b.ads[0].offerId).toBe(b.arm === 'ctr' ? 'o3' : 'o1');
    }
    const ctr = [...arms.values()].filter((a) => a === 'ctr').length;
    expect(ctr).toBeGreaterThan(8);
    expect(ctr).toBeLessThan(32);
    const again = (await app.inject({ method: 'GET', url: '/v1/ads?q=running+shoes&n=2&user=u7' })).json();
    expect(again.arm).toBe(arms.get('u7'));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/imatch_blender_arm_answers_total\{arm="ctr"\} \d+/);
  });

  it('refuses a bad experiment config and keeps the arms in force', () => {
    const { runtime } = use();
    runtime.updateExperiment('{"arms":{"ctr":100}}', 'v1');
    expect(runtime.updateExperiment('{"arms":{"ctr":60,"quality":60}}', 'v2')).toBe(false);
    expect(runtime.updateExperiment('not json', 'v3')).toBe(false);
    expect(runtime.experiment.arms).toEqual({ ctr: 100 });
    expect(runtime.updateExperiment(undefined, 'absent')).toBe(true);
    expect(runtime.experiment.arms).toEqual({ quality: 100 });
  });

  it('ranks the ctr arm by the prior x quality before any model is loaded', async () => {
    const { app, runtime, pv } = use([hit(1, 1_000_000, 0.2), hit(2, 1_000_000, 0.9), hit(3, 900_000, 1)]);
    runtime.updateExperiment('{"arms":{"ctr":100}}', 'v1');
    await app.inject({ method: 'GET', url: '/v1/ads?q=running+shoes&n=2&user=u1' });
    expect(pv[0]!.modelVersion).toBe(0);
    expect(pv[0]!.ads.map((a) => a.offerId)).toEqual(['o2', 'o3']);
  });
});

describe('blender POST /v1/ads', () => {
  it('takes the end user ip and user agent into the tokens and the PV record', async () => {
    const { app, pv } = use();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/ads',
      payload: { q: 'shoes', n: 1, ip: '203.0.113.7', userAgent: 'Mozilla/5.0', user: 'u9' },
    });
    expect(res.statusCode).toBe(200);
    const ad = res.json().ads[0];
    const decoded = decodeClickToken(keyring, ad.clickUrl.split('/c/')[1]);
    expect(decoded.ok && decoded.payload.clientDigest).toMatch(/^[0-9a-f]{16}$/);
    expect(decoded.ok && decoded.payload.clientDigest).not.toBe('0000000000000000');
    expect(pv[0]!.user).toEqual({
      id: 'u9',
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
      clientDigest: decoded.ok ? decoded.payload.clientDigest : '',
    });
  });
});

describe('blender bad input: exact 400 bodies', () => {
  const cases: [string, { method: 'GET' | 'POST'; url: string; payload?: unknown }][] = [
    ['missing q', { method: 'GET', url: '/v1/ads?n=3' }],
    ['empty q', { method: 'GET', url: '/v1/ads?q=' }],
    ['overlong q', { method: 'GET', url: `/v1/ads?q=${'a'.repeat(201)}` }],
    ['n too large', { method: 'GET', url: '/v1/ads?q=shoes&n=21' }],
    ['n zero', { method: 'GET', url: '/v1/ads?q=shoes&n=0' }],
    ['n not a number', { method: 'GET', url: '/v1/ads?q=shoes&n=five' }],
    ['unknown parameter', { method: 'GET', url: '/v1/ads?q=shoes&page=2' }],
    ['bad region', { method: 'GET', url: '/v1/ads?q=shoes&region=germany' }],
    ['q twice', { method: 'GET', url: '/v1/ads?q=a&q=b' }],
    ['q with no words', { method: 'GET', url: '/v1/ads?q=%21%21%21' }],
    ['POST n as text', { method: 'POST', url: '/v1/ads', payload: { q: 'shoes', n: '5' } }],
    ['POST bad ip', { method: 'POST', url: '/v1/ads', payload: { q: 'shoes', ip: '999.1.1.1' } }],
    ['POST unknown field', { method: 'POST', url: '/v1/ads', payload: { q: 'shoes', ua: 'x' } }],
    ['POST array body', { method: 'POST', url: '/v1/ads', payload: [1] }],
  ];
  const expected: Record<string, string> = {
    'missing q': 'Missing parameter "q": The buyer\'s search text, 1-200 characters',
    'empty q':
      'Invalid parameter "q": must NOT have fewer than 1 characters. Expected: The buyer\'s search text, 1-200 characters',
    'overlong q':
      'Invalid parameter "q": must NOT have more than 200 characters. Expected: The buyer\'s search text, 1-200 characters',
    'n too large':
      'Invalid parameter "n": must be <= 20. Expected: How many ads to return, an integer 1-20 (default 5)',
    'n zero':
      'Invalid parameter "n": must be >= 1. Expected: How many ads to return, an integer 1-20 (default 5)',
    'n not a number':
      'Invalid parameter "n": must be integer. Expected: How many ads to return, an integer 1-20 (default 5)',
    'unknown parameter': 'Unknown parameter "page". Allowed: q, n, region, category, user',
    'bad region':
      'Invalid parameter "region": "germany" does not match. Expected: Only ads that serve this ISO 3166-1 alpha-2 country, e.g. DE',
    'q twice': 'Invalid parameter "q": must be string. Expected: The buyer\'s search text, 1-200 characters',
    'q with no words': 'Invalid parameter "q": it has no searchable words (only punctuation or symbols)',
    'POST n as text':
      'Invalid parameter "n": must be integer. Expected: How many ads to return, an integer 1-20 (default 5)',
    'POST bad ip':
      'Invalid parameter "ip": "999.1.1.1" does not match. Expected: The end user\'s IP address (IPv4 or IPv6)',
    'POST unknown field': 'Unknown parameter "ua". Allowed: q, n, region, category, user, ip, userAgent',
    'POST array body': 'Invalid body: must be object',
  };
  for (const [name, request] of cases) {
    it(`${name} -> 400 naming what is allowed`, async () => {
      const { app, merger } = use();
      const res = await app.inject(request as InjectOptions);
      expect(res.json()).toEqual({
        statusCode: 400,
        code: 'IM_ERR_BAD_QUERY',
        error: 'Bad Request',
        message: expected[name],
      });
      expect(res.statusCode).toBe(400);
      expect(merger.requests).toHaveLength(0);
    });
  }

  it('a body that is not JSON is a 400 too', async () => {
    const { app } = use();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/ads',
      headers: { 'content-type': 'application/json' },
      payload: '{"q":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'IM_ERR_BAD_REQUEST', error: 'Bad Request' });
  });
});

describe('blender upstream failures', () => {
  const cases: [string, ImatchError, number][] = [
    ['merger down', new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger is unreachable'), 502],
    ['merger timeout', new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', 'The merger did not answer in time'), 504],
    ['merger not ready', new ImatchError('IM_ERR_NOT_READY', 'The merger is not ready yet'), 503],
  ];
  for (const [name, error, status] of cases) {
    it(`${name} -> ${status} with its code, and no PV record`, async () => {
      const { app, merger, pv } = use();
      merger.fail = error;
      const res = await app.inject({ method: 'GET', url: '/v1/ads?q=shoes' });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toEqual(error.toBody());
      expect(pv).toHaveLength(0);
    });
  }

  it('refuses requests beyond maxInFlight at once with 503 + Retry-After, and takes them again after', async () => {
    const { app, merger, pv, metrics } = use(undefined, 2);
    let open!: () => void;
    merger.gate = new Promise<void>((r) => {
      open = r;
    });
    const held = [app.inject({ method: 'GET', url: '/v1/ads?q=shoes' }), app.inject('/v1/ads?q=boots')];
    while (merger.requests.length < 2) await new Promise((r) => setImmediate(r));
    const refused = await app.inject({ method: 'GET', url: '/v1/ads?q=shoes' });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({
      statusCode: 503,
      code: 'IM_ERR_OVERLOADED',
      error: 'Service Unavailable',
    });
    expect(merger.requests).toHaveLength(2); // the refused one never reached the merger
    // The admission gauges, as /metrics shows them while the two are held.
    expect(await metrics.registry.getSingleMetricAsString('imatch_blender_admission_limit')).toContain(
      'imatch_blender_admission_limit 2',
    );
    expect(await metrics.registry.getSingleMetricAsString('imatch_blender_in_flight')).toContain(
      'imatch_blender_in_flight 2',
    );
    // No arrival rate is known yet, so nothing was let in above the limit as a stall.
    expect(
      await metrics.registry.getSingleMetricAsString('imatch_blender_admitted_over_limit_total'),
    ).toContain('imatch_blender_admitted_over_limit_total 0');
    open();
    expect((await Promise.all(held)).map((r) => r.statusCode)).toEqual([200, 200]);
    expect(pv).toHaveLength(2);
    merger.gate = undefined;
    expect((await app.inject('/v1/ads?q=shoes')).statusCode).toBe(200);
    expect(await metrics.registry.getSingleMetricAsString('imatch_blender_shed_total')).toContain(
      'imatch_blender_shed_total 1',
    );
    expect(await metrics.registry.getSingleMetricAsString('imatch_blender_in_flight')).toContain(
      'imatch_blender_in_flight 0',
    );
  });

  it('a merger hit without the priced fields is a 502, never a wrong price', async () => {
    const broken = { ...hit(1, 5_000_000) } as Partial<SearchHit>;
    delete broken.qualityBp;
    const { app } = use([broken as SearchHit]);
    const res = await app.inject({ method: 'GET', url: '/v1/ads?q=shoes' });
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('IM_ERR_UPSTREAM_DOWN');
  });
});

describe('blender service routes', () => {
  it('serves its OpenAPI document with the ad query', async () => {
    const { app } = use();
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(['/v1/ads', '/healthz', '/readyz', '/metrics', '/openapi.json']);
    const params = doc.paths['/v1/ads'].get.parameters;
    expect(params.map((p: { name: string }) => p.name)).toEqual(['q', 'n', 'region', 'category', 'user']);
    // n has a default, so a caller may leave it out; q may not.
    const required = Object.fromEntries(
      params.map((p: { name: string; required: boolean }) => [p.name, p.required]),
    );
    expect(required).toMatchObject({ q: true, n: false });
    const body = doc.paths['/v1/ads'].post.requestBody.content['application/json'].schema;
    expect(body.properties.ip).toMatchObject({ type: 'string', format: 'ip' });
    expect(body.required).toEqual(['q']);
  });

  it('healthz, readyz and metrics', async () => {
    const { app, merger } = use();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    merger.size = 0;
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers['retry-after']).toBe('1');
    expect(notReady.json().message).toBe('Not ready: no merger is known');
    await app.inject('/v1/ads?q=shoes');
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toContain('imatch_blender_ads_shown_total 3');
  });

  it('unknown routes are a 404 listing the routes', async () => {
    const { app } = use();
    const res = await app.inject('/v2/ads');
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toContain('GET /v1/ads');
  });
});
