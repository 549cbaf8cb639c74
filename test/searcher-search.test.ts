// End to end: `imatch gen` 100k offers -> `imatch build-index --columns 2 --publish` -> two
// `imatch searcher` processes registered in a real ZooKeeper -> a few hundred queries from the
// generated query log (plus region- and category-filtered variants) over HTTP, each answer
// compared with the brute-force reference scan of the snapshot (test/helpers/reference.ts),
// per column and merged by compareRanked. Then a graceful SIGTERM removes the registration.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameClient } from '../core/frame-rpc.js';
import type { SearchHit, SearchRequest, SearchResponse } from '../core/search-contract.js';
import { type SearcherRegistration, zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import { uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';
import {
  loadReferenceSnapshot,
  mergeRanked,
  type ReferenceSnapshot,
  referenceSearch,
} from './helpers/reference.js';
import {
  type Built,
  buildIndexVersion,
  generateSnapshot,
  readQueryLog,
  type SearcherProcess,
  searchClient,
  startSearcherProcess,
  waitForRegistration,
} from './helpers/searcher-cluster.js';

const OFFERS = 100_000;
const COLUMNS = 2;
const LOG_QUERIES = 300;
const FILTERED_QUERIES = 150;
const KS = [1, 3, 5, 10, 20, 50];

let tmp: string;
let zk: ZkClient;
let zkRoot: string;
let snapshotDir: string;
let built: Built;
let ref: ReferenceSnapshot;
let searchers: SearcherProcess[];
let registrations: SearcherRegistration[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-searcher-it-'));
  zkRoot = uniqueZkRoot('searcher-search');
  zk = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000 });
  snapshotDir = join(tmp, 'snapshot');
  await generateSnapshot(snapshotDir, OFFERS, 20_000, 'searcher-it');
  built = await buildIndexVersion(snapshotDir, join(tmp, 'store'), COLUMNS, { zkRoot });
  searchers = [0, 1].map((c) => startSearcherProcess(zkRoot, c, `r${c}`));
  const loading = loadReferenceSnapshot(snapshotDir);
  registrations = await Promise.all(searchers.map((s) => waitForRegistration(zk, zkRoot, s, built.version)));
  ref = await loading;
});

afterAll(async () => {
  await Promise.all((searchers ?? []).map((s) => s.proc.stop()));
  if (zk !== undefined) {
    await zk.deleteRecursive(zkRoot).catch(() => undefined);
    await zk.close();
  }
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** Log queries with assorted k, plus filtered variants built from hits the unfiltered query has. */
async function makeRequests(): Promise<SearchRequest[]> {
  const lines = await readQueryLog(join(snapshotDir, 'queries.jsonl'), LOG_QUERIES);
  const requests: SearchRequest[] = lines.map((l, i) => {
    const r: SearchRequest = { query: l.q, k: KS[i % KS.length]! };
    if (l.region !== undefined) r.region = l.region;
    if (l.category !== undefined) r.category = l.category;
    if (i % 17 === 0) r.textExpansion = false;
    return r;
  });
  const offerById = new Map(ref.offers.map((o) => [o.row.id, o.row]));
  let added = 0;
  for (const [i, l] of lines.entries()) {
    if (added >= FILTERED_QUERIES) break;
    const hits = referenceSearch(ref, { query: l.q, k: 50 });
    const hit = hits[i % Math.max(1, hits.length)];
    if (hit === undefined) continue;
    const offer = offerById.get(hit.offerId)!;
    const customer = ref.customers.get(offer.customerId);
    const segments = hit.category.split('/');
    const category = segments.slice(0, 1 + (i % segments.length)).join('/');
    const region =
      offer.regions?.[i % offer.regions.length] ?? customer?.regions?.[0] ?? (i % 2 === 0 ? 'US' : 'DE');
    const kind = i % 3;
    const r: SearchRequest = { query: l.q, k: KS[(i + 2) % KS.length]! };
    if (kind !== 1) r.region = region;
    if (kind !== 0) r.category = category;
    requests.push(r);
    added++;
  }
  return requests;
}

const brief = (hits: readonly SearchHit[]) =>
  hits.map((h) => `${h.offerId}/${h.bidwordId}/${h.matchType}/${h.score}`);

describe('searcher processes on a 100k-offer index', () => {
  it('register both columns in ZooKeeper with their URL, version and watermark', async () => {
    for (const [c, reg] of registrations.entries()) {
      expect(reg).toMatchObject({
        column: c,
        replica: `r${c}`,
        version: built.version,
        appliedId: built.manifest.watermark,
      });
      expect(reg.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(reg.frames).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(Number.isNaN(Date.parse(reg.startedAt))).toBe(false);
      expect(await zk.children(zkPaths(zkRoot).searcherColumn(c))).toEqual([`r${c}`]);
      const ready = await searchClient(reg.url).get('/readyz');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text)).toMatchObject({
        status: 'ready',
        version: built.version,
        registered: true,
      });
    }
  });

  it('answer exactly the ads of the reference scan, in order, per column and merged', async () => {
    const requests = await makeRequests();
    const clients = registrations.map((r) => searchClient(r.url, 8));
    const mismatches: unknown[] = [];
    const stats = { requests: requests.length, nonEmpty: 0, filteredNonEmpty: 0, textHits: 0, hits: 0 };
    const check = async (req: SearchRequest) => {
      const answers = await Promise.all(clients.map((c) => c.search(req)));
      const expectedColumns = [0, 1].map((c) => referenceSearch(ref, req, { column: c, columns: COLUMNS }));
      const perColumn: SearchHit[][] = [];
      for (const [c, a] of answers.entries()) {
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        const body = a.body as SearchResponse;
        expect(body).toMatchObject({ column: c, replica: `r${c}`, version: built.version });
        const expected = expectedColumns[c]!;
        if (JSON.stringify(body.hits) !== JSON.stringify(expected) && mismatches.length < 5) {
          mismatches.push({ column: c, req, got: brief(body.hits), expected: brief(expected) });
        }
        perColumn.push(body.hits);
      }
      const merged = mergeRanked(perColumn, req.k);
      const expectedMerged = mergeRanked(expectedColumns, req.k);
      if (JSON.stringify(merged) !== JSON.stringify(expectedMerged) && mismatches.length < 5) {
        mismatches.push({ merged: true, req, got: brief(merged), expected: brief(expectedMerged) });
      }
      if (merged.length > 0) {
        stats.nonEmpty++;
        if (req.region !== undefined || req.category !== undefined) stats.filteredNonEmpty++;
      }
      stats.hits += merged.length;
      stats.textHits += perColumn.flat().filter((h) => h.matchType === 'text').length;
    };
    for (let i = 0; i < requests.length; i += 16) await Promise.all(requests.slice(i, i + 16).map(check));

    console.info('searcher vs reference:', JSON.stringify(stats));
    expect(mismatches).toEqual([]);
    // The comparison is only worth something if the queries found ads, filtered ones included,
    // and some answers needed title-text expansion.
    expect(stats.nonEmpty).toBeGreaterThan(requests.length * 0.6);
    expect(stats.filteredNonEmpty).toBeGreaterThan(FILTERED_QUERIES * 0.5);
    expect(stats.textHits).toBeGreaterThan(0);
  });

  it('answer the same text over frame RPC as over HTTP, in both forms, and refuse the same bad requests', async () => {
    const requests = (await makeRequests()).slice(0, 120);
    const reg = registrations[0]!;
    const [host, port] = reg.frames!.split(':') as [string, string];
    const frames = new FrameClient(host, Number(port));
    const http = new Pool(reg.url, { connections: 4 });
    // tookUs is the search's own time, different on every call.
    const same = (text: string) => text.replace(/"tookUs":\d+/, '"tookUs":0');
    try {
      const bodies = [
        ...requests.map((r) => JSON.stringify(r)),
        ...requests.map((r) =>
          JSON.stringify({ ...r, format: 'lines', fields: ['offerId', 'title', 'bidMicros'] }),
        ),
        JSON.stringify({ query: 'shoes', k: 500 }),
        JSON.stringify({ query: 'shoes', k: 5, page: 2 }),
      ];
      let lines = 0;
      for (const body of bodies) {
        const [f, h] = await Promise.all([
          frames.call(body, 5_000),
          http.request({
            path: '/search',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          }),
        ]);
        const text = await h.body.text();
        expect({ status: f.status, body: same(f.body) }, body).toEqual({
          status: h.statusCode,
          body: same(text),
        });
        if (f.body.includes('\n')) lines++;
      }
      expect(lines).toBe(requests.length);
      // Text that is not JSON: 400 as over HTTP (whose wording also names the content type).
      const notJson = await frames.call('{"query":', 5_000);
      expect(notJson.status).toBe(400);
      expect(JSON.parse(notJson.body)).toMatchObject({
        code: 'IM_ERR_BAD_REQUEST',
        message: 'Body is not valid JSON',
      });
    } finally {
      await frames.close();
      await http.close();
    }
  });

  it('refuses a malformed request over HTTP with a 400 body naming the problem', async () => {
    const res = await searchClient(registrations[0]!.url).search({ query: 'shoes', k: 500 });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      code: 'IM_ERR_BAD_REQUEST',
      error: 'Bad Request',
      message: 'Invalid parameter "k": must be <= 100',
    });
  });

  it('deregisters and exits cleanly on SIGTERM', async () => {
    const s = searchers[1]!;
    const path = zkPaths(zkRoot).searcherReplica(s.column, s.replica);
    expect(await zk.exists(path)).not.toBeNull();
    expect(await s.proc.stop('SIGTERM')).toBe(0);
    // stdout may still be draining when the exit event fires.
    await waitFor(() => s.proc.output().includes('searcher stopped'), {
      what: 'the stop log line',
      timeoutMs: 5000,
    });
    expect(await zk.exists(path)).toBeNull();
    // The other replica is unaffected.
    expect((await searchClient(registrations[0]!.url).get('/readyz')).status).toBe(200);
  });
});
