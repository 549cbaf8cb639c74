// The query path end to end with real processes: `imatch gen` data, `imatch build-index` into 2
// columns published in a real ZooKeeper, 2 columns x 2 searcher replicas, one merger and one
// blender (`node dist/bin/imatch.js ...`), the blender's page views going to a real Kafka.
// Checks that answers equal the brute-force reference (test/helpers/reference.ts) merged with
// CDistinct, that kill -9 of a replica under steady load fails no query, that a column with no
// replica left gives 200 `degraded` answers with the other column's ads, and that the merger
// picks a column back up when a replica registers again.

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine } from '../bin/launch/command-line.js';
import { ensureTopics } from '../core/kafka.js';
import type { MergeResponse } from '../core/merge-contract.js';
import { columnOf } from '../core/partition.js';
import { compareRanked } from '../core/ranking.js';
import type { SearchHit, SearchRequest } from '../core/search-contract.js';
import { zkPaths } from '../core/zk-paths.js';
import { DEFAULT_PRICING_RULE, priceAds } from '../services/blender/pricing.js';
import {
  freePorts,
  kafkaBrokers,
  type ServiceProcess,
  spawnImatch,
  testKafka,
  testZk,
  uniqueTopic,
  uniqueZkRoot,
  waitFor,
  zkConnect,
} from './helpers/index.js';
import {
  loadReferenceSnapshot,
  type ReferenceSnapshot,
  referenceSearch,
  referenceSearchColumns,
} from './helpers/reference.js';

const COLUMNS = 2;
const OFFERS = 20_000;
const PER_CUSTOMER = 2;
const QUERY_COUNT = 120;

interface Query {
  q: string;
  region?: string;
  category?: string;
}

let tmp: string;
let snapshotDir: string;
let root: string;
let snap: ReferenceSnapshot;
let queries: Query[];
let changesTopic: string;
let mergerUrl: string;
let blenderUrl: string;
const replicas = new Map<string, ServiceProcess>();
let merger: ServiceProcess;
let blender: ServiceProcess;

/** Fails at once, with the process's output, when a service died instead of getting ready. */
function alive(p: ServiceProcess): void {
  if (p.exitCode() !== null)
    throw new Error(`${p.name} exited (${p.exitCode()}):\n${p.output().slice(-4000)}`);
}

/** The test's own CDistinct: best-ranked first, at most k per customer, each offer once. */
function cdistinct(
  ranked: readonly SearchHit[],
  k: number,
  n: number,
): { hits: SearchHit[]; dropped: number } {
  const perCustomer = new Map<string, number>();
  const hits: SearchHit[] = [];
  let dropped = 0;
  for (const h of ranked) {
    if (hits.length >= n) break;
    const c = perCustomer.get(h.customerId) ?? 0;
    if (c >= k) {
      dropped++;
      continue;
    }
    perCustomer.set(h.customerId, c + 1);
    hits.push(h);
  }
  return { hits, dropped };
}

const ids = (hits: readonly { offerId?: string }[]) => hits.map((h) => h.offerId);

function searchRequest(q: Query, k: number, textExpansion?: boolean): SearchRequest {
  const req: SearchRequest = { query: q.q, k };
  if (q.region !== undefined) req.region = q.region;
  if (q.category !== undefined) req.category = q.category;
  if (textExpansion !== undefined) req.textExpansion = textExpansion;
  return req;
}

async function post<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

async function merge(q: Query, n: number, textExpansion?: boolean, url = mergerUrl) {
  const body: Record<string, unknown> = { query: q.q, n };
  if (q.region !== undefined) body.region = q.region;
  if (q.category !== undefined) body.category = q.category;
  if (textExpansion !== undefined) body.textExpansion = textExpansion;
  return post<MergeResponse>(`${url}/merge`, body);
}

async function ads(q: Query, n: number) {
  let path = `/v1/ads?q=${encodeURIComponent(q.q)}&n=${n}`;
  if (q.region !== undefined) path += `&region=${q.region}`;
  if (q.category !== undefined) path += `&category=${encodeURIComponent(q.category)}`;
  const res = await request(`${blenderUrl}${path}`);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function runToEnd(args: string[]): Promise<void> {
  const p = spawnImatch(args);
  const code = await p.exited;
  if (code !== 0) throw new Error(`imatch ${args[0]} exited ${code}:\n${p.output().slice(-4000)}`);
}

/** `imatch merger` on this test's ZooKeeper root, with generous deadlines (see beforeAll). */
function mergerArgs(port: number, extra: string[] = []): string[] {
  return [
    'merger',
    '--port',
    String(port),
    '--zk-connect',
    zkConnect(),
    '--zk-root',
    root,
    '--deadline-ms',
    '2000',
    '--attempt-timeout-ms',
    '1000',
    '--per-customer-max',
    String(PER_CUSTOMER),
    '--log-level',
    'warn',
    ...extra,
  ];
}

const replicaUrls = new Map<string, string>();

function startReplica(column: number, replica: string, port: number): ServiceProcess {
  replicaUrls.set(`${column}${replica}`, `http://127.0.0.1:${port}`);
  const p = spawnImatch(
    commandLine('searcher', {
      column,
      replica,
      port,
      zkConnect: zkConnect(),
      zkRoot: root,
      zkSessionTimeoutMs: 4000,
      dataDir: join(tmp, `data-${column}-${replica}`),
      kafkaBrokers: kafkaBrokers(),
      topicChanges: changesTopic,
      logLevel: 'warn',
    }),
  );
  replicas.set(`${column}/${replica}`, p);
  return p;
}

interface ReadyBody {
  columns: number;
  replicas: { healthy: number; known: number }[];
}

async function mergerReplicas(): Promise<ReadyBody | undefined> {
  const res = await request(`${mergerUrl}/readyz`);
  const body = (await res.body.json()) as ReadyBody;
  return res.statusCode === 200 ? body : undefined;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-qp-'));
  snapshotDir = join(tmp, 'bp');
  root = uniqueZkRoot('query-path');
  // The searchers' isupdate consumes this (empty) change topic; this test is about queries.
  changesTopic = uniqueTopic('changes');
  await ensureTopics(testKafka(), [changesTopic]);
  await runToEnd([
    'gen',
    '--out',
    snapshotDir,
    '--offers',
    String(OFFERS),
    '--seed',
    'query-path',
    '--queries',
    '2000',
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
  const [p00, p01, p10, p11, mergerPort, blenderPort] = (await freePorts(6)) as number[];
  startReplica(0, 'a', p00!);
  startReplica(0, 'b', p01!);
  startReplica(1, 'a', p10!);
  startReplica(1, 'b', p11!);
  // A generous deadline: this test is about retries and coverage, not about a busy machine's speed.
  merger = spawnImatch(mergerArgs(mergerPort!));
  mergerUrl = `http://127.0.0.1:${mergerPort}`;
  blender = spawnImatch([
    'blender',
    '--port',
    String(blenderPort),
    '--zk-connect',
    zkConnect(),
    '--zk-root',
    root,
    '--kafka-brokers',
    kafkaBrokers().join(','),
    '--topic-pv',
    uniqueTopic('pv'),
    '--click-keys',
    `1:${randomBytes(32).toString('hex')}`,
    '--merger-timeout-ms',
    '5000',
    '--log-level',
    'warn',
  ]);
  blenderUrl = `http://127.0.0.1:${blenderPort}`;

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

  await waitFor(
    async () => {
      alive(merger);
      for (const p of replicas.values()) alive(p);
      const r = await mergerReplicas().catch(() => undefined);
      return r !== undefined && r.replicas.length === COLUMNS && r.replicas.every((c) => c.healthy === 2);
    },
    { what: 'the merger to see 2 healthy replicas in each column', timeoutMs: 120_000 },
  );
  await waitFor(
    async () => {
      alive(blender);
      return (await request(`${blenderUrl}/readyz`)).statusCode === 200;
    },
    {
      what: 'the blender to be ready',
      timeoutMs: 60_000,
    },
  );
}, 300_000);

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('query path with real processes', () => {
  it('answers like the reference: the global top n after CDistinct (no text expansion)', async () => {
    let withAds = 0;
    let cdistinctMattered = 0;
    for (const q of queries) {
      const n = 10;
      const all = referenceSearch(snap, searchRequest(q, 1_000_000, false));
      const expected = cdistinct(all, PER_CUSTOMER, n);
      const got = await merge(q, n, false);
      expect(got.status, q.q).toBe(200);
      expect(got.body.coverage).toEqual({ columns: COLUMNS, answered: COLUMNS });
      expect(got.body.degraded).toBe(false);
      expect(got.body.hits, `query ${JSON.stringify(q)}`).toEqual(expected.hits);
      if (expected.hits.length > 0) withAds++;
      if (expected.dropped > 0) cdistinctMattered++;
    }
    // The query set must exercise the path: most queries find ads, and CDistinct removes some.
    expect(withAds).toBeGreaterThan(queries.length / 2);
    expect(cdistinctMattered).toBeGreaterThan(0);
    // ...and some answers needed a column's ads beyond its first n (the merger's deeper round).
    const metrics = await (await request(`${mergerUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/imatch_merger_deepened_total [1-9]/);
  });

  it('a merger that calls the searchers over HTTP (--searcher-frames false) answers exactly the same', async () => {
    const [port] = (await freePorts(1)) as [number];
    const httpMerger = spawnImatch(mergerArgs(port, ['--searcher-frames', 'false', '--frames-port', '-1']));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => {
          alive(httpMerger);
          const res = await request(`${url}/readyz`).catch(() => undefined);
          if (res === undefined) return false;
          const body = (await res.body.json()) as ReadyBody;
          return res.statusCode === 200 && body.replicas.every((c) => c.healthy === 2);
        },
        { what: 'the HTTP merger to see 2 healthy replicas in each column', timeoutMs: 60_000 },
      );
      for (const q of queries) {
        for (const textExpansion of [false, undefined]) {
          const [framed, http] = await Promise.all([
            merge(q, 11, textExpansion),
            merge(q, 11, textExpansion, url),
          ]);
          expect(http.status, q.q).toBe(200);
          // tookUs is the merge's own time, different on every call.
          expect({ ...http.body, tookUs: 0 }, `query ${JSON.stringify(q)}`).toEqual({
            ...framed.body,
            tookUs: 0,
          });
        }
      }
      // It did call the searchers over HTTP (the other merger uses frames): their HTTP /search
      // histograms count its requests.
      let httpSearches = 0;
      for (const u of replicaUrls.values()) {
        const text = await (await request(`${u}/metrics`)).body.text();
        for (const m of text.matchAll(
          /imatch_searcher_request_duration_seconds_count\{route="\/search",status="200"\} (\d+)/g,
        ))
          httpSearches += Number(m[1]);
      }
      expect(httpSearches).toBeGreaterThanOrEqual(queries.length * 2);
      const zk = await testZk();
      const nodes = await zk.children(zkPaths(root).serviceKind('merger'));
      const regs = await Promise.all(
        nodes.map(
          async (n) =>
            JSON.parse(
              (await zk.get(`${zkPaths(root).serviceKind('merger')}/${n}`))!.data.toString('utf8'),
            ) as { url: string; frames?: string },
        ),
      );
      expect(regs.find((r) => r.url === url)?.frames).toBeUndefined();
      expect(regs.find((r) => r.url === mergerUrl)?.frames).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      expect(await httpMerger.stop('SIGTERM')).toBe(0);
    }
  });

  it('answers like the reference with text expansion (per-column top n, deeper where CDistinct needs it)', async () => {
    for (const q of queries) {
      const n = 11;
      const shallow = referenceSearchColumns(snap, searchRequest(q, n), COLUMNS);
      const first = cdistinct(shallow.flat().sort(compareRanked), PER_CUSTOMER, n);
      const got = await merge(q, n);
      expect(got.status, q.q).toBe(200);
      if (first.dropped === 0) {
        // Nothing dropped: each column's top n is enough, and the answer is exactly that merge.
        expect(got.body.hits, `query ${JSON.stringify(q)}`).toEqual(first.hits);
        continue;
      }
      // Otherwise the merger may have asked some columns for more (with or without expansion);
      // the answer must be the merge of one such combination of reference answers.
      const options = (c: number) => [
        shallow[c]!,
        referenceSearch(snap, searchRequest(q, 100, false), { column: c, columns: COLUMNS }),
        referenceSearch(snap, searchRequest(q, 100), { column: c, columns: COLUMNS }),
      ];
      const candidates = options(0).flatMap((l0) =>
        options(1).map((l1) => cdistinct([...l0, ...l1].sort(compareRanked), PER_CUSTOMER, n).hits),
      );
      expect(candidates.map(ids), `query ${JSON.stringify(q)}`).toContainEqual(ids(got.body.hits));
    }
  });

  it('the blender shows the merger answer in order, priced by GSP against the next ad', async () => {
    for (const q of queries.slice(0, 40)) {
      const n = 5;
      const merged = await merge(q, n + 1);
      const shown = await ads(q, n);
      expect(shown.status, q.q).toBe(200);
      const hits = merged.body.hits as SearchHit[];
      const list = shown.body.ads as { offerId: string; position: number; priceMicros: number }[];
      expect(ids(list)).toEqual(ids(hits.slice(0, n)));
      expect(list.map((a) => a.position)).toEqual(list.map((_, i) => i + 1));
      expect(list.map((a) => a.priceMicros)).toEqual(
        priceAds(hits, Math.min(n, hits.length), DEFAULT_PRICING_RULE),
      );
      expect(shown.body.coverage).toEqual({ columns: COLUMNS, answered: COLUMNS });
    }
  });

  it('fails no query when a replica is killed with SIGKILL under steady load', async () => {
    const victim = replicas.get('0/a')!;
    let ok = 0;
    let degraded = 0;
    const failures: string[] = [];
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop) {
        const q = queries[next++ % queries.length]!;
        try {
          const r = await ads(q, 5);
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
          else {
            ok++;
            if (r.body.degraded === true) degraded++;
          }
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await waitFor(() => ok >= 200, { what: '200 answers before the kill' });
    victim.child.kill('SIGKILL');
    await victim.exited;
    const atKill = ok;
    // Keep the load on until the dead replica's ZooKeeper session has expired and the merger has
    // dropped it (so both the "known but dead" and the "gone" phases are under load).
    await waitFor(async () => (await mergerReplicas())?.replicas[0]?.known === 1, {
      what: 'the merger to drop the killed replica',
      timeoutMs: 60_000,
    });
    await waitFor(() => ok >= atKill + 200, { what: '200 more answers after the kill' });
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(degraded).toBe(0);
    expect(ok).toBeGreaterThan(atKill);
    const metrics = await (await request(`${mergerUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/imatch_merger_retries_total\{column="0"\} [1-9]/);
  });

  it('answers 200 degraded with the other column when both replicas of a column are gone', async () => {
    for (const key of ['1/a', '1/b']) {
      const p = replicas.get(key)!;
      p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const q of queries.slice(0, 40)) {
      const n = 10;
      const got = await merge(q, n, false);
      expect(got.status).toBe(200);
      expect(got.body.degraded).toBe(true);
      expect(got.body.coverage).toEqual({ columns: COLUMNS, answered: 1 });
      for (const h of got.body.hits) expect(columnOf(h.offerId!, COLUMNS)).toBe(0);
      const column0 = referenceSearch(snap, searchRequest(q, 1_000_000, false), {
        column: 0,
        columns: COLUMNS,
      });
      expect(got.body.hits, `query ${JSON.stringify(q)}`).toEqual(cdistinct(column0, PER_CUSTOMER, n).hits);

      const shown = await ads(q, 5);
      expect(shown.status).toBe(200);
      expect(shown.body.degraded).toBe(true);
      expect(shown.body.coverage).toEqual({ columns: COLUMNS, answered: 1 });
    }
  });

  it('takes a column back as soon as a replica registers again', async () => {
    const [port] = (await freePorts(1)) as number[];
    startReplica(1, 'c', port!);
    await waitFor(async () => (await mergerReplicas())?.replicas[1]?.healthy === 1, {
      what: 'the merger to discover the new replica of column 1',
      timeoutMs: 120_000,
    });
    const q = queries.find((x) => referenceSearch(snap, searchRequest(x, 10, false)).length > 0)!;
    // A fresh replica may miss the 50 ms attempt timeout on its first requests (cold code on a
    // busy machine); since the merger calls an answer degraded when a column's deeper round
    // fails, wait for the first whole answer rather than take the very first one.
    const got = await waitFor(
      async () => {
        const r = await merge(q, 10, false);
        return r.body.degraded === false ? r : undefined;
      },
      { what: 'a whole answer with the new replica', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(got.body.coverage).toEqual({ columns: COLUMNS, answered: COLUMNS });
  });

  it('the merger is registered in ZooKeeper, and on SIGTERM deregisters and exits 0', async () => {
    const zk = await testZk();
    const kind = zkPaths(root).serviceKind('merger');
    const children = await zk.children(kind);
    expect(children).toHaveLength(1);
    const node = await zk.get(`${kind}/${children[0]}`);
    expect(JSON.parse(node!.data.toString('utf8'))).toMatchObject({ url: mergerUrl, pid: merger.pid });
    expect(await merger.stop('SIGTERM')).toBe(0);
    expect(await zk.children(kind)).toEqual([]);
  });
});
