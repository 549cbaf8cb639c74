// The blender in the real chain: `imatch gen` data, `imatch build-index` (2 columns, published in
// a real ZooKeeper), one searcher per column, a real merger and a real blender, page views in a
// real Kafka. Checks what the blender adds on top of the merger:
//   - each answer is the reference (brute-force search, CDistinct) priced by an independent GSP
//     computation against the (n+1)-th ad;
//   - every PV record in Kafka matches the answer it belongs to (ads, positions, ids, bids, scores,
//     prices), one record per answer;
//   - a synonym added in ZooKeeper changes the next answers, same blender process.
// (test/query-path.test.ts covers replica failures and degraded answers along the same chain.)

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine } from '../bin/launch/command-line.js';
import { createKeyring, decodeClickToken } from '../core/click-token.js';
import { ensureTopics, startConsumer } from '../core/kafka.js';
import { normalize } from '../core/normalize.js';
import type { PvRecord } from '../core/pv-record.js';
import { MATCH_WEIGHT_PCT } from '../core/ranking.js';
import type { SearchHit } from '../core/search-contract.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import {
  freePorts,
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
import { loadReferenceSnapshot, type ReferenceSnapshot, referenceSearch } from './helpers/reference.js';

const COLUMNS = 2;
const OFFERS = 5_000;
const PER_CUSTOMER = 2;
const QUERY_COUNT = 60;
const RESERVE = 30_000;
const STEP = 10_000;
const CLICK_BASE = 'https://clicks.example.org';

interface Query {
  q: string;
  region?: string;
  category?: string;
}

interface Answer {
  requestId: string;
  ads: {
    position: number;
    offerId: string;
    customerId: string;
    bidwordId: string;
    keyword: string;
    matchType: string;
    title: string;
    clickUrl: string;
    priceMicros: number;
  }[];
  coverage: { columns: number; answered: number };
  degraded: boolean;
}

function cdistinct(ranked: readonly SearchHit[], k: number, n: number): SearchHit[] {
  const perCustomer = new Map<string, number>();
  const out: SearchHit[] = [];
  for (const h of ranked) {
    if (out.length >= n) break;
    const c = perCustomer.get(h.customerId) ?? 0;
    if (c >= k) continue;
    perCustomer.set(h.customerId, c + 1);
    out.push(h);
  }
  return out;
}

/** DESIGN.md's GSP, computed independently of services/blender/pricing.ts (BigInt). */
function gsp(hits: readonly SearchHit[], n: number): number[] {
  const up = (x: bigint) => ((x + BigInt(STEP) - 1n) / BigInt(STEP)) * BigInt(STEP);
  return hits.slice(0, n).map((h, i) => {
    const next = hits[i + 1];
    let price = up(BigInt(RESERVE));
    if (next !== undefined) {
      const denom = BigInt(h.qualityBp * MATCH_WEIGHT_PCT[h.matchType]);
      const toBeat = (BigInt(next.score) + denom - 1n) / denom;
      price = up((toBeat > BigInt(RESERVE) ? toBeat : BigInt(RESERVE)) + BigInt(STEP));
    }
    return Number(price < BigInt(h.bidMicros) ? price : BigInt(h.bidMicros));
  });
}

let tmp: string;
let snapshotDir: string;
let snap: ReferenceSnapshot;
let queries: Query[];
let zk: ZkClient;
let pool: Pool;
let blender: ServiceProcess;
let stopConsumer: (() => Promise<void>) | undefined;
const root = uniqueZkRoot('blender-chain');
const topicPv = uniqueTopic('pv');
const secret = randomBytes(32);
const keyring = createKeyring(new Map([[2, secret]]), 2);
const pv = new Map<string, PvRecord>();
const offsets = new Set<string>();
const answered = new Map<string, Answer>();

async function runToEnd(args: string[]): Promise<void> {
  const p = spawnImatch(args);
  const code = await p.exited;
  if (code !== 0) throw new Error(`imatch ${args[0]} exited ${code}:\n${p.output().slice(-4000)}`);
}

async function ads(q: Query, n: number): Promise<Answer> {
  let path = `/v1/ads?q=${encodeURIComponent(q.q)}&n=${n}`;
  if (q.region !== undefined) path += `&region=${q.region}`;
  if (q.category !== undefined) path += `&category=${encodeURIComponent(q.category)}`;
  const res = await pool.request({ path, method: 'GET' });
  const body = (await res.body.json()) as Answer;
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} for ${path}: ${JSON.stringify(body)}`);
  answered.set(body.requestId, body);
  return body;
}

function expected(q: Query, n: number): SearchHit[] {
  const req = { query: normalize(q.q), k: 1_000_000, textExpansion: false } as Parameters<
    typeof referenceSearch
  >[1];
  if (q.region !== undefined) req.region = q.region;
  if (q.category !== undefined) req.category = q.category;
  return cdistinct(referenceSearch(snap, req), PER_CUSTOMER, n + 1);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-blender-chain-'));
  snapshotDir = join(tmp, 'bp');
  await runToEnd([
    'gen',
    '--out',
    snapshotDir,
    '--offers',
    String(OFFERS),
    '--seed',
    'blender-chain',
    '--queries',
    '1000',
    '--changes',
    '0',
    '--progress',
    'none',
  ]);
  await runToEnd([
    'build-index',
    '--snapshot',
    snapshotDir,
    '--out',
    join(tmp, 'index'),
    '--columns',
    String(COLUMNS),
    '--publish',
    '--progress',
    'off',
    '--zk-connect',
    zkConnect(),
    '--zk-root',
    root,
  ]);
  const common = { zkConnect: zkConnect(), zkRoot: root, logLevel: 'warn' };
  for (let column = 0; column < COLUMNS; column++) {
    spawnImatch(
      commandLine('searcher', { column, replica: 'a', dataDir: join(tmp, `data-${column}`), ...common }),
    );
  }
  spawnImatch(
    commandLine('merger', {
      deadlineMs: 3000,
      attemptTimeoutMs: 2000,
      perCustomerMax: PER_CUSTOMER,
      ...common,
    }),
  );
  const [blenderPort] = (await freePorts(1)) as number[];
  blender = spawnImatch(
    commandLine('blender', {
      port: blenderPort,
      kafkaBrokers: kafkaBrokers(),
      topicPv,
      clickKeys: [`kid2:${secret.toString('base64url')}`],
      clickBaseUrl: CLICK_BASE,
      reserveMicros: RESERVE,
      stepMicros: STEP,
      mergerTimeoutMs: 5000,
      textExpansion: false,
      ...common,
    }),
  );
  pool = new Pool(`http://127.0.0.1:${blenderPort}`, { connections: 4, keepAliveTimeout: 1000 });

  snap = await loadReferenceSnapshot(snapshotDir);
  const seen = new Set<string>();
  queries = [];
  for (const line of (await readFile(join(snapshotDir, 'queries.jsonl'), 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    const q = JSON.parse(line) as Query;
    const key = JSON.stringify(q);
    if (seen.has(key)) continue;
    seen.add(key);
    queries.push(q);
    if (queries.length >= QUERY_COUNT) break;
  }

  zk = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000 });
  // The blender creates its topic too (idempotent); create it here so the consumer can start first.
  const kafka = testKafka('blender-chain');
  await ensureTopics(kafka, [topicPv]);
  const consumer = await startConsumer(kafka, {
    groupId: uniqueGroupId('pv'),
    topics: [topicPv],
    eachMessage: async (m) => {
      offsets.add(`${m.partition}:${m.offset}`);
      const record = JSON.parse(m.value!.toString()) as PvRecord;
      pv.set(record.pvId, record);
    },
  });
  stopConsumer = () => consumer.disconnect();

  // Ready when the whole chain answers with every column (the merger's 503 "not ready" comes
  // through as 503; a column whose searcher is still loading gives a degraded 200).
  await waitFor(
    async () => {
      const res = await pool.request({ path: '/v1/ads?q=probe', method: 'GET' });
      const body = (await res.body.json()) as Partial<Answer>;
      return res.statusCode === 200 && body.coverage?.answered === COLUMNS;
    },
    { what: 'the chain to answer through the blender', timeoutMs: 120_000 },
  );
}, 300_000);

afterAll(async () => {
  await stopConsumer?.();
  await pool?.close();
  await zk?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('blender in the real chain (gen, build-index, 2 searchers, merger, Kafka)', () => {
  it('answers every query like the reference, priced by GSP, with genuine click tokens', async () => {
    const sizes = [1, 3, 5, 10, 20];
    let withAds = 0;
    let discounted = 0;
    for (const [i, q] of queries.entries()) {
      const n = sizes[i % sizes.length]!;
      const want = expected(q, n);
      const got = await ads(q, n);
      const label = `query ${JSON.stringify(q)} n=${n}`;
      expect(got.coverage, label).toEqual({ columns: COLUMNS, answered: COLUMNS });
      expect(got.degraded).toBe(false);
      expect(
        got.ads.map((a) => [
          a.position,
          a.offerId,
          a.customerId,
          a.bidwordId,
          a.keyword,
          a.matchType,
          a.title,
        ]),
        label,
      ).toEqual(
        want
          .slice(0, n)
          .map((h, j) => [j + 1, h.offerId, h.customerId, h.bidwordId, h.keyword, h.matchType, h.title]),
      );
      expect(
        got.ads.map((a) => a.priceMicros),
        label,
      ).toEqual(gsp(want, n));
      for (const [j, ad] of got.ads.entries()) {
        const decoded = decodeClickToken(keyring, ad.clickUrl.slice(`${CLICK_BASE}/c/`.length));
        expect(decoded.ok, label).toBe(true);
        if (decoded.ok) {
          expect(decoded.payload).toMatchObject({
            pvId: got.requestId,
            position: ad.position,
            offerId: ad.offerId,
            priceMicros: ad.priceMicros,
            bidMicros: want[j]!.bidMicros,
            landingUrl: want[j]!.landingUrl,
          });
        }
        if (ad.priceMicros < want[j]!.bidMicros) discounted++;
      }
      if (got.ads.length > 0) withAds++;
    }
    // The query set exercises the path: most queries find ads, and GSP prices below bids.
    expect(withAds).toBeGreaterThan(queries.length / 2);
    expect(discounted).toBeGreaterThan(0);
  });

  it('a synonym added in ZooKeeper changes the next answers without a restart', async () => {
    const pid = blender.pid;
    // A query with ads, and a made-up word the catalogue does not know.
    const target = queries.find(
      (q) => q.region === undefined && q.category === undefined && expected(q, 5).length > 0,
    )!;
    expect(target).toBeDefined();
    const made = { q: 'zqxsynonymword' };
    expect((await ads(made, 5)).ads).toEqual([]);

    const path = zkPaths(root).configQrw;
    await zk.mkdirp(path.slice(0, path.lastIndexOf('/')));
    await zk.create(path, JSON.stringify({ synonyms: { zqxsynonymword: [target.q] } }));
    const after = await waitFor(
      async () => {
        const a = await ads(made, 5);
        return a.ads.length > 0 ? a : undefined;
      },
      { what: 'the synonym to change the answer' },
    );
    const want = expected(target, 5);
    expect(after.ads.map((a) => [a.offerId, a.priceMicros])).toEqual(
      want.slice(0, 5).map((h, j) => [h.offerId, gsp(want, 5)[j]]),
    );
    expect(blender.exitCode()).toBeNull();
    expect(blender.pid).toBe(pid);
    await waitFor(() => pv.has(after.requestId), { what: 'the PV record of the rewritten query' });
    expect(pv.get(after.requestId)!.query).toMatchObject({
      raw: made.q,
      rewritten: normalize(target.q),
      synonyms: ['zqxsynonymword'],
    });
  });

  it('every PV record in Kafka matches the answer it belongs to, one record per answer', async () => {
    await waitFor(() => [...answered.keys()].every((id) => pv.has(id)), {
      what: `a PV record for each of ${answered.size} answers`,
    });
    const probes = [...pv.values()].filter((r) => r.query.raw === 'probe').length;
    expect(offsets.size).toBe(answered.size + probes);
    expect(pv.size).toBe(offsets.size);
    for (const [id, answer] of answered) {
      const record = pv.get(id)!;
      expect(record.coverage).toEqual(answer.coverage);
      expect(record.degraded).toBe(answer.degraded);
      expect(
        record.ads.map((a) => [
          a.position,
          a.offerId,
          a.customerId,
          a.bidwordId,
          a.keyword,
          a.matchType,
          a.priceMicros,
        ]),
      ).toEqual(
        answer.ads.map((a) => [
          a.position,
          a.offerId,
          a.customerId,
          a.bidwordId,
          a.keyword,
          a.matchType,
          a.priceMicros,
        ]),
      );
      const token = (a: Answer['ads'][number]) =>
        decodeClickToken(keyring, a.clickUrl.slice(`${CLICK_BASE}/c/`.length));
      for (const [j, a] of record.ads.entries()) {
        const decoded = token(answer.ads[j]!);
        expect(decoded.ok && decoded.payload.bidMicros).toBe(a.bidMicros);
        expect(a.score).toBe(
          a.bidMicros * a.qualityBp * MATCH_WEIGHT_PCT[a.matchType as keyof typeof MATCH_WEIGHT_PCT],
        );
        expect(a.priceMicros).toBeLessThanOrEqual(a.bidMicros);
      }
      expect(record.pricing).toEqual({ reserveMicros: RESERVE, stepMicros: STEP });
    }
  });
});
