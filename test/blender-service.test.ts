// The blender as a real process (`imatch blender`) against real ZooKeeper and Kafka, with a small
// real HTTP server standing in for the merger (registered in ZooKeeper like a merger, so the
// blender discovers it). The full chain with real searchers and a real merger is
// test/blender-chain.test.ts; this file covers what the blender itself promises:
//   - every answer is priced by GSP against the (n+1)-th ad, with genuine click tokens;
//   - every answered request has exactly one PV record in Kafka that matches its answer, also
//     after a graceful SIGTERM (the PV buffer is flushed before exit);
//   - a synonym or a pricing rule written to ZooKeeper changes the next answers, same process;
//   - merger slow -> 504, merger unreachable or gone -> 502, bad input -> 400.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, decodeClickToken } from '../core/click-token.js';
import { startConsumer } from '../core/kafka.js';
import type { MergeRequest, MergeResponse } from '../core/merge-contract.js';
import { tokenize } from '../core/normalize.js';
import type { PvRecord } from '../core/pv-record.js';
import {
  compareRanked,
  MATCH_WEIGHT_PCT,
  qualityToBp,
  type RankedMatchType,
  score,
} from '../core/ranking.js';
import type { SearchHit } from '../core/search-contract.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import {
  kafkaBrokers,
  type ServiceProcess,
  spawnImatch,
  testKafka,
  uniqueGroupId,
  uniqueTopic,
  uniqueZkRoot,
  waitFor,
  zkConnect,
} from './helpers/index.js';

// ---------------------------------------------------------------------------------------------
// The stand-in merger: a fixed catalogue, answers by query token, honours n, region and fields.

interface Item extends SearchHit {
  token: string;
  regions?: string[];
}

function item(
  token: string,
  id: number,
  bid: number,
  quality: number,
  matchType: RankedMatchType,
  regions?: string[],
) {
  const qualityBp = qualityToBp(quality);
  const it: Item = {
    token,
    offerId: `o${id}`,
    customerId: `c${id % 7}`,
    bidwordId: `b${id}`,
    keyword: token,
    matchType,
    bidMicros: bid,
    qualityBp,
    score: score(bid, qualityBp, matchType),
    title: `${token} offer ${id}`,
    category: 'apparel/shoes',
    imageUrl: `https://img.example.com/${id}.jpg`,
    landingUrl: `https://shop${id}.example.com/p/${id}`,
  };
  if (regions !== undefined) it.regions = regions;
  return it;
}

const CATALOGUE: Item[] = [
  item('shoe', 1, 5_000_000, 1, 'exact'),
  item('shoe', 2, 2_500_000, 1, 'exact'),
  item('shoe', 3, 3_000_000, 0.5, 'phrase', ['DE']),
  item('shoe', 4, 2_000_000, 0.9, 'broad'),
  item('shoe', 5, 1_000_000, 1, 'exact'),
  item('shoe', 6, 40_000, 1, 'text'),
  item('bag', 7, 800_000, 0.7, 'exact'),
  item('bag', 8, 800_000, 0.7, 'exact'),
  item('lamp', 9, 1_230_000, 0.33, 'broad'),
];

/** What the stand-in answers for a merge request (also the test's expectation). */
function standInHits(query: string, n: number, region?: string): Item[] {
  const tokens = new Set(tokenize(query));
  return CATALOGUE.filter((h) => tokens.has(h.token))
    .filter((h) => region === undefined || h.regions === undefined || h.regions.includes(region))
    .sort(compareRanked)
    .slice(0, n);
}

interface StandIn {
  app: FastifyInstance;
  url: string;
  requests: MergeRequest[];
  delayMs: number;
}

async function startStandIn(): Promise<StandIn> {
  const app = Fastify();
  const s: StandIn = { app, url: '', requests: [], delayMs: 0 };
  app.post<{ Body: MergeRequest }>('/merge', async (request) => {
    const body = request.body;
    s.requests.push(body);
    if (s.delayMs > 0) await new Promise((r) => setTimeout(r, s.delayMs));
    const hits = standInHits(body.query, body.n, body.region).map((h) => {
      const out: Record<string, unknown> = {};
      for (const f of body.fields ?? []) out[f] = h[f];
      return out;
    });
    const response: MergeResponse = {
      hits,
      coverage: { columns: 2, answered: 2 },
      degraded: false,
      tookUs: 10,
    };
    return response;
  });
  s.url = await app.listen({ host: '127.0.0.1', port: 0 });
  return s;
}

// ---------------------------------------------------------------------------------------------
// An independent GSP reference (BigInt, straight from DESIGN.md).

function referencePrices(hits: readonly SearchHit[], n: number, reserve: number, step: number): number[] {
  const up = (x: bigint) => ((x + BigInt(step) - 1n) / BigInt(step)) * BigInt(step);
  const out: number[] = [];
  for (let i = 0; i < Math.min(n, hits.length); i++) {
    const h = hits[i]!;
    const next = hits[i + 1];
    let price: bigint;
    if (next === undefined) price = up(BigInt(reserve));
    else {
      const denom = BigInt(h.qualityBp) * BigInt(MATCH_WEIGHT_PCT[h.matchType]);
      const toBeat = (BigInt(next.score) + denom - 1n) / denom;
      const floor = toBeat > BigInt(reserve) ? toBeat : BigInt(reserve);
      price = up(floor + BigInt(step));
    }
    out.push(Number(price < BigInt(h.bidMicros) ? price : BigInt(h.bidMicros)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: {
    requestId: string;
    ads: {
      position: number;
      offerId: string;
      customerId: string;
      bidwordId: string;
      matchType: string;
      displayUrl: string;
      clickUrl: string;
      priceMicros: number;
    }[];
    coverage: { columns: number; answered: number };
    degraded: boolean;
    code?: string;
    message?: string;
  };
}

const secret = randomBytes(32);
const keyring = createKeyring(new Map([[5, secret]]), 5);
const RESERVE = 50_000;
const STEP = 10_000;

describe('imatch blender (real process, real ZooKeeper and Kafka, stand-in merger)', () => {
  const root = uniqueZkRoot('blender');
  const topicPv = uniqueTopic('pv');
  let zk: ZkClient;
  let standIn: StandIn;
  let blender: ServiceProcess;
  let pool: Pool;
  const pv = new Map<string, PvRecord>();
  /** partition:offset -> pvId, and what the Kafka key and timestamp said. */
  const consumed = new Map<string, { pvId: string; key: string | undefined; timestamp: string }>();
  const answered = new Map<
    string,
    { answer: Answer; rule: { reserve: number }; n: number; region?: string }
  >();
  let stopConsumer: (() => Promise<void>) | undefined;

  async function ask(
    q: string,
    n: number,
    region?: string,
    post?: { ip: string; userAgent: string },
  ): Promise<Answer> {
    const res = post
      ? await pool.request({
          path: '/v1/ads',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ q, n, ...(region ? { region } : {}), ...post }),
        })
      : await pool.request({
          path: `/v1/ads?q=${encodeURIComponent(q)}&n=${n}${region ? `&region=${region}` : ''}`,
          method: 'GET',
        });
    const answer = { status: res.statusCode, body: (await res.body.json()) as Answer['body'] };
    return answer;
  }

  async function putNode(path: string, data: string): Promise<void> {
    if (await zk.exists(path)) await zk.set(path, data);
    else {
      await zk.mkdirp(path.slice(0, path.lastIndexOf('/')));
      await zk.create(path, data);
    }
  }

  beforeAll(async () => {
    zk = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000 });
    standIn = await startStandIn();
    await zk.register(
      `${zkPaths(root).serviceKind('merger')}/stand-in`,
      JSON.stringify({ url: standIn.url }),
    );
    blender = spawnImatch([
      'blender',
      '--zk-connect',
      zkConnect(),
      '--zk-root',
      root,
      '--kafka-brokers',
      kafkaBrokers().join(','),
      '--topic-pv',
      topicPv,
      '--click-keys',
      `kid5:${secret.toString('hex')},kid9:${randomBytes(32).toString('base64')}`,
      '--click-key-id',
      'kid5',
      '--click-base-url',
      'https://click.example.net',
      '--reserve-micros',
      String(RESERVE),
      '--merger-timeout-ms',
      '300',
      '--log-level',
      'warn',
    ]);
    const [, url] = await blender.waitForOutput(/"url":"(http:\/\/[^"]+)"/, 60_000);
    pool = new Pool(url!, { connections: 4, keepAliveTimeout: 1000 });
    await waitFor(
      async () => {
        const res = await pool.request({ path: '/readyz', method: 'GET' });
        await res.body.dump();
        return res.statusCode === 200;
      },
      { what: 'the blender to be ready' },
    );
    const consumer = await startConsumer(testKafka('blender-test'), {
      groupId: uniqueGroupId('pv'),
      topics: [topicPv],
      eachMessage: async (m) => {
        const record = JSON.parse(m.value!.toString()) as PvRecord;
        consumed.set(`${m.partition}:${m.offset}`, {
          pvId: record.pvId,
          key: m.key?.toString(),
          timestamp: m.timestamp,
        });
        pv.set(record.pvId, record);
      },
    });
    stopConsumer = () => consumer.disconnect();
  });

  afterAll(async () => {
    await pool?.close();
    await stopConsumer?.();
    await standIn?.app.close();
    await zk?.close();
  });

  it('answers a query set with GSP prices, genuine click tokens, and one matching PV record each', async () => {
    const queries: [string, number, string | undefined][] = [
      ['Shoes', 3, undefined],
      ['shoes', 5, undefined],
      ['red shoes', 2, 'DE'],
      ['shoe', 20, undefined],
      ['bags', 1, undefined],
      ['bags', 2, undefined],
      ['lamps', 4, 'US'],
      ['nothing here', 5, undefined],
    ];
    for (const [q, n, region] of queries) {
      for (const post of [undefined, { ip: '198.51.100.23', userAgent: 'Mozilla/5.0 (test)' }]) {
        const answer = await ask(q, n, region, post);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        const rewritten = tokenize(q).join(' ');
        const hits = standInHits(rewritten, n + 1, region);
        const prices = referencePrices(hits, n, RESERVE, STEP);
        expect(answer.body.ads.map((a) => [a.position, a.offerId, a.priceMicros])).toEqual(
          prices.map((p, i) => [i + 1, hits[i]!.offerId, p]),
        );
        for (const ad of answer.body.ads) {
          expect(ad.clickUrl.startsWith('https://click.example.net/c/')).toBe(true);
          const decoded = decodeClickToken(keyring, ad.clickUrl.slice('https://click.example.net/c/'.length));
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) continue;
          expect(decoded.kid).toBe(5);
          expect(decoded.payload).toMatchObject({
            pvId: answer.body.requestId,
            position: ad.position,
            offerId: ad.offerId,
            customerId: ad.customerId,
            bidwordId: ad.bidwordId,
            priceMicros: ad.priceMicros,
          });
          expect(decoded.payload.priceMicros).toBeLessThanOrEqual(decoded.payload.bidMicros);
          expect(`https://${ad.displayUrl}/p/${ad.offerId.slice(1)}`).toBe(decoded.payload.landingUrl);
        }
        answered.set(answer.body.requestId, {
          answer,
          rule: { reserve: RESERVE },
          n,
          ...(region ? { region } : {}),
        });
      }
    }
    // The merger was asked n+1 with the rewritten query, the blender's fields and region.
    expect(standIn.requests[0]).toMatchObject({ query: 'shoe', n: 4 });
    expect(standIn.requests[0]!.fields).toEqual(expect.arrayContaining(['bidMicros', 'qualityBp', 'score']));
    // Prices differ from bids somewhere (the GSP discount is real, not a copy of the bid).
    expect(
      [...answered.values()].some((a) => a.answer.body.ads.some((ad) => ad.priceMicros < 2_500_000)),
    ).toBe(true);

    await waitFor(() => [...answered.keys()].every((id) => pv.has(id)), {
      what: 'a PV record for every answer',
    });
    for (const [id, { answer, n, region }] of answered) {
      const record = pv.get(id)!;
      expect(record.n).toBe(n);
      expect(record.region).toBe(region);
      expect(record.coverage).toEqual(answer.body.coverage);
      expect(record.degraded).toBe(answer.body.degraded);
      expect(
        record.ads.map((a) => [a.position, a.offerId, a.customerId, a.bidwordId, a.priceMicros]),
      ).toEqual(
        answer.body.ads.map((a) => [a.position, a.offerId, a.customerId, a.bidwordId, a.priceMicros]),
      );
      for (const a of record.ads) {
        const h = CATALOGUE.find((c) => c.offerId === a.offerId)!;
        expect([a.bidMicros, a.qualityBp, a.score, a.matchType]).toEqual([
          h.bidMicros,
          h.qualityBp,
          h.score,
          h.matchType,
        ]);
      }
    }
    const posted = [...pv.values()].filter((r) => r.user.ip === '198.51.100.23');
    expect(posted).toHaveLength(queries.length);
    expect(posted.every((r) => r.user.userAgent === 'Mozilla/5.0 (test)')).toBe(true);
  });

  it('a synonym and a pricing rule written to ZooKeeper change the next answers without a restart', async () => {
    const pid = blender.pid;
    const before = await ask('sneakers', 3);
    expect(before.body.ads).toEqual([]);
    answered.set(before.body.requestId, { answer: before, rule: { reserve: RESERVE }, n: 3 });

    await putNode(
      zkPaths(root).configQrw,
      JSON.stringify({ synonyms: { sneakers: ['shoes'] }, stopwords: ['cheap'] }),
    );
    const after = await waitFor(
      async () => {
        const a = await ask('cheap sneakers', 3);
        answered.set(a.body.requestId, { answer: a, rule: { reserve: RESERVE }, n: 3 });
        return a.body.ads.length > 0 ? a : undefined;
      },
      { what: 'the synonym to apply' },
    );
    expect(after.body.ads.map((a) => a.offerId)).toEqual(standInHits('shoe', 3).map((h) => h.offerId));
    expect(standIn.requests.at(-1)!.query).toBe('shoe');
    await waitFor(() => pv.has(after.body.requestId), { what: 'the PV record of the rewritten query' });
    expect(pv.get(after.body.requestId)!.query).toMatchObject({
      raw: 'cheap sneakers',
      normalized: 'cheap sneaker',
      rewritten: 'shoe',
      synonyms: ['sneaker'],
      stopwords: ['cheap'],
    });

    // One lamp ad alone pays the reserve; a new reserve in ZooKeeper applies to the next answer.
    await putNode(zkPaths(root).configPricing, JSON.stringify({ reserveMicros: 120_000 }));
    const lamp = await waitFor(
      async () => {
        const a = await ask('lamp', 1);
        answered.set(a.body.requestId, { answer: a, rule: { reserve: 120_000 }, n: 1 });
        return a.body.ads[0]?.priceMicros === 120_000 ? a : undefined;
      },
      { what: 'the new reserve price to apply' },
    );
    expect(lamp.body.ads).toHaveLength(1);
    expect(blender.exitCode()).toBeNull();
    expect(blender.pid).toBe(pid);
  });

  it('answers 400 for bad input without asking the merger', async () => {
    const asked = standIn.requests.length;
    const res = await pool.request({ path: '/v1/ads?q=shoes&n=50', method: 'GET' });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_QUERY',
      error: 'Bad Request',
      message:
        'Invalid parameter "n": must be <= 20. Expected: How many ads to return, an integer 1-20 (default 5)',
    });
    expect(standIn.requests.length).toBe(asked);
  });

  it('a slow merger is a 504, an unreachable one a 502, none at all a 502 and not ready', async () => {
    standIn.delayMs = 1000;
    const slow = await ask('shoes', 2);
    expect(slow.status).toBe(504);
    expect(slow.body.code).toBe('IM_ERR_UPSTREAM_TIMEOUT');
    standIn.delayMs = 0;

    // A second registration that points at a closed port: connection refused there is retried on
    // the live merger, so answers stay 200.
    const dead = Fastify();
    const deadUrl = await dead.listen({ host: '127.0.0.1', port: 0 });
    await dead.close();
    const deadReg = await zk.register(
      `${zkPaths(root).serviceKind('merger')}/dead`,
      JSON.stringify({ url: deadUrl }),
    );
    for (let i = 0; i < 6; i++) {
      const a = await ask('bags', 1);
      expect(a.status).toBe(200);
      answered.set(a.body.requestId, { answer: a, rule: { reserve: 120_000 }, n: 1 });
    }

    // Only the dead one left: 502.
    await zk.delete(`${zkPaths(root).serviceKind('merger')}/stand-in`);
    const down = await waitFor(
      async () => {
        const a = await ask('bags', 1);
        // Until discovery drops the live merger, answers are still 200 (and have PV records).
        if (a.status === 200) answered.set(a.body.requestId, { answer: a, rule: { reserve: 120_000 }, n: 1 });
        return a.status === 502 ? a : undefined;
      },
      { what: 'a 502 with only a dead merger registered' },
    );
    expect(down.body).toMatchObject({ code: 'IM_ERR_UPSTREAM_DOWN', error: 'Bad Gateway' });

    // No merger at all: 502 and /readyz 503.
    await deadReg.unregister();
    await waitFor(
      async () => {
        const res = await pool.request({ path: '/readyz', method: 'GET' });
        await res.body.dump();
        return res.statusCode === 503;
      },
      { what: 'readyz to report no merger' },
    );
    const none = await ask('bags', 1);
    expect(none.status).toBe(502);
    expect(none.body.message).toBe('No merger is available');
  });

  it('SIGTERM flushes the PV buffer: every answered request has exactly one PV record', async () => {
    const code = await blender.stop('SIGTERM', 20_000);
    expect(code).toBe(0);
    await waitFor(() => [...answered.keys()].every((id) => pv.has(id)), { what: 'every PV record' });
    // Exactly one record per answer: no duplicates, none for requests that were not answered.
    expect(consumed.size).toBe(answered.size);
    expect(new Set([...consumed.values()].map((c) => c.pvId)).size).toBe(answered.size);
    for (const c of consumed.values()) {
      expect(c.key).toBe(c.pvId);
      expect(c.timestamp).toBe(String(pv.get(c.pvId)!.timeMs));
    }
    for (const [id, { answer }] of answered) {
      expect(pv.get(id)!.ads.map((a) => [a.position, a.offerId, a.priceMicros])).toEqual(
        answer.body.ads.map((a) => [a.position, a.offerId, a.priceMicros]),
      );
    }
  });
});
