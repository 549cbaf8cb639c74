// Changes posted to dispatch become visible through the public API (blender GET /v1/ads ->
// merger -> searchers with isupdate), in real processes on the run's ZooKeeper and Kafka:
//   - a new offer with a bidword appears;
//   - a raised bid changes the order and the prices (GSP);
//   - a deleted offer disappears;
//   - a customer set offline loses all its ads and regains them when set online.
// The snapshot is a small hand-written fixture so every expected answer is worked out by hand:
// quality 1 everywhere, exact match, so price = next bid + one step, last ad = reserve.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../core/kafka.js';
import type { Bidword, Customer, Offer } from '../core/model.js';
import { type SearcherRegistration, zkPaths } from '../core/zk-paths.js';
import { ChangeClient, startDispatch, startIsSearcher } from './helpers/incremental.js';
import {
  freePorts,
  kafkaBrokers,
  spawnImatch,
  testKafka,
  testZk,
  uniqueTopic,
  uniqueZkRoot,
  waitFor,
  zkConnect,
} from './helpers/index.js';
import { buildIndexVersion } from './helpers/searcher-cluster.js';

const COLUMNS = 2;
const RESERVE = 30_000;
const STEP = 10_000;
const QUERY = 'running shoes';

const customer = (id: string, status: Customer['status'] = 'online'): Customer => ({
  id,
  name: `Customer ${id}`,
  status,
  dailyBudgetMicros: 100_000_000,
});
const offer = (id: string, customerId: string, title: string): Offer => ({
  id,
  customerId,
  title,
  category: 'apparel/shoes',
  imageUrl: `https://img.example.org/${id}.jpg`,
  landingUrl: `https://shop.example.org/${id}`,
  status: 'online',
  quality: 1,
});
const bidword = (id: string, offerId: string, bidMicros: number): Bidword => ({
  id,
  offerId,
  keyword: QUERY,
  matchType: 'exact',
  bidMicros,
  status: 'online',
});

interface Ad {
  position: number;
  offerId: string;
  customerId: string;
  bidwordId: string;
  priceMicros: number;
}

let tmp: string;
let pool: Pool;
let client: ChangeClient;
const root = uniqueZkRoot('isupdate-visible');
const topic = uniqueTopic('changes');

async function ads(): Promise<Array<Pick<Ad, 'offerId' | 'priceMicros'>>> {
  const res = await pool.request({ path: `/v1/ads?q=${encodeURIComponent(QUERY)}&n=5`, method: 'GET' });
  const body = (await res.body.json()) as { ads: Ad[]; coverage: { answered: number } };
  if (res.statusCode !== 200) throw new Error(`blender answered ${res.statusCode}: ${JSON.stringify(body)}`);
  if (body.coverage.answered !== COLUMNS) throw new Error(`only ${body.coverage.answered} columns answered`);
  return body.ads.map((a) => ({ offerId: a.offerId, priceMicros: a.priceMicros }));
}

/** Waits until the blender's answer is `expected` (changes are applied asynchronously). */
async function expectAds(expected: Array<[string, number]>): Promise<void> {
  const want = expected.map(([offerId, priceMicros]) => ({ offerId, priceMicros }));
  let last: unknown;
  await waitFor(
    async () => {
      last = await ads();
      return JSON.stringify(last) === JSON.stringify(want);
    },
    { what: `the blender to answer ${JSON.stringify(want)}`, timeoutMs: 30_000, intervalMs: 50 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last answer ${JSON.stringify(last)}`);
  });
  expect(await ads()).toEqual(want);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-isupdate-visible-'));
  const snap = join(tmp, 'bp');
  await mkdir(snap, { recursive: true });
  const jsonl = (rows: unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  await writeFile(join(snap, 'customers.jsonl'), jsonl([customer('c1'), customer('c2')]));
  await writeFile(
    join(snap, 'offers.jsonl'),
    jsonl([offer('o1', 'c1', 'Red running shoes'), offer('o2', 'c2', 'Blue running shoes')]),
  );
  await writeFile(
    join(snap, 'bidwords.jsonl'),
    jsonl([bidword('b1', 'o1', 2_000_000), bidword('b2', 'o2', 1_000_000)]),
  );
  await writeFile(
    join(snap, 'snapshot.json'),
    JSON.stringify({ takenAt: new Date().toISOString(), watermark: 0 }),
  );
  await buildIndexVersion(snap, join(tmp, 'index'), COLUMNS, { zkRoot: root });
  await ensureTopics(testKafka(), [topic]);

  const dispatch = await startDispatch(root, topic);
  client = new ChangeClient(dispatch.url);
  for (let c = 0; c < COLUMNS; c++) {
    await startIsSearcher({
      zkRoot: root,
      topic,
      column: c,
      replica: 'a',
      dataDir: join(tmp, `data-${c}`),
      batch: 10,
    });
  }
  const common = ['--zk-connect', zkConnect(), '--zk-root', root, '--log-level', 'warn'];
  spawnImatch(['merger', '--deadline-ms', '3000', '--attempt-timeout-ms', '2000', ...common]);
  const [blenderPort] = (await freePorts(1)) as number[];
  const key = randomBytes(32).toString('base64url');
  spawnImatch([
    'blender',
    '--port',
    String(blenderPort),
    '--kafka-brokers',
    kafkaBrokers().join(','),
    '--topic-pv',
    uniqueTopic('pv'),
    '--click-keys',
    `kid1:${key}`,
    '--click-base-url',
    'https://clicks.example.org',
    '--reserve-micros',
    String(RESERVE),
    '--step-micros',
    String(STEP),
    '--text-expansion',
    'false',
    ...common,
  ]);
  pool = new Pool(`http://127.0.0.1:${blenderPort}`, { connections: 2, keepAliveTimeout: 1000 });
  await waitFor(
    async () => {
      try {
        return (await ads()).length === 2;
      } catch {
        return false;
      }
    },
    { what: 'the chain to answer through the blender', timeoutMs: 120_000 },
  );
}, 300_000);

afterAll(async () => {
  await pool?.close();
  await client?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('changes through dispatch are visible in blender answers', () => {
  it('serves the snapshot first: b1 2.00 above b2 1.00', async () => {
    await expectAds([
      ['o1', 1_010_000],
      ['o2', RESERVE],
    ]);
  });

  it('a new offer with a bidword becomes visible', async () => {
    await client.postUntilAccepted([
      { entity: 'customer', op: 'upsert', data: customer('c3') },
      { entity: 'offer', op: 'upsert', data: offer('o3', 'c3', 'Green running shoes') },
      { entity: 'bidword', op: 'upsert', data: bidword('b3', 'o3', 3_000_000) },
    ]);
    await expectAds([
      ['o3', 2_010_000],
      ['o1', 1_010_000],
      ['o2', RESERVE],
    ]);
  });

  it('a raised bid changes the order and the prices', async () => {
    await client.postUntilAccepted([
      { entity: 'bidword', op: 'upsert', data: bidword('b2', 'o2', 5_000_000) },
    ]);
    await expectAds([
      ['o2', 3_010_000],
      ['o3', 2_010_000],
      ['o1', RESERVE],
    ]);
  });

  it('a deleted offer disappears', async () => {
    await client.postUntilAccepted([{ entity: 'offer', op: 'delete', data: { id: 'o3' } }]);
    await expectAds([
      ['o2', 2_010_000],
      ['o1', RESERVE],
    ]);
  });

  it('a customer set offline loses all its ads and regains them online', async () => {
    // c2 gets a second offer first, so "all its ads" means more than one.
    await client.postUntilAccepted([
      { entity: 'offer', op: 'upsert', data: offer('o4', 'c2', 'Trail running shoes') },
      { entity: 'bidword', op: 'upsert', data: bidword('b4', 'o4', 1_500_000) },
    ]);
    await expectAds([
      ['o2', 2_010_000],
      ['o1', 1_510_000],
      ['o4', RESERVE],
    ]);
    await client.postUntilAccepted([{ entity: 'customer', op: 'upsert', data: customer('c2', 'offline') }]);
    await expectAds([['o1', RESERVE]]);
    const [lastId] = await client.postUntilAccepted([
      { entity: 'customer', op: 'upsert', data: customer('c2', 'online') },
    ]);
    await expectAds([
      ['o2', 2_010_000],
      ['o1', 1_510_000],
      ['o4', RESERVE],
    ]);

    // Each replica publishes the last id it applied in its ZooKeeper registration (throttled).
    const zk = await testZk();
    for (let c = 0; c < COLUMNS; c++) {
      await waitFor(
        async () => {
          const node = await zk.get(zkPaths(root).searcherReplica(c, 'a'));
          return (
            node !== null &&
            (JSON.parse(node.data.toString('utf8')) as SearcherRegistration).appliedId === lastId
          );
        },
        { what: `column ${c}'s registration to show appliedId ${lastId}` },
      );
    }
  });
});
