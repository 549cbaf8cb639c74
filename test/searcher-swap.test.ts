// Hot swap under load, end to end: two searcher processes serve version A (built and published by
// `imatch build-index --publish`); while clients query both without pause, version B (built from a
// modified snapshot: every bid doubled, every landing URL changed, one offer in ten taken offline)
// is built and published. Every answer must be a 200 that equals the reference answer of the
// version it names (never a mix), no query that has ads in both versions may come back empty,
// each client sees A then B and never A again, and after the swap the registrations name B.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BID_MICROS } from '../core/model.js';
import type { SearchRequest } from '../core/search-contract.js';
import { type SearcherRegistration, zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import { uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';
import { loadReferenceSnapshot, referenceSearch } from './helpers/reference.js';
import {
  type Built,
  buildIndexVersion,
  copySnapshot,
  generateSnapshot,
  metricSum,
  readQueryLog,
  type SearcherProcess,
  searchClient,
  startSearcherProcess,
  waitForRegistration,
} from './helpers/searcher-cluster.js';

const OFFERS = 30_000;
const COLUMNS = 2;
const WORKERS_PER_SEARCHER = 3;

let tmp: string;
let zk: ZkClient;
let zkRoot: string;
let searchers: SearcherProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-swap-it-'));
  zkRoot = uniqueZkRoot('searcher-swap');
  zk = await connectZk({ connect: zkConnect(), sessionTimeoutMs: 6000 });
});

afterAll(async () => {
  await Promise.all(searchers.map((s) => s.proc.stop()));
  if (zk !== undefined) {
    await zk.deleteRecursive(zkRoot).catch(() => undefined);
    await zk.close();
  }
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

interface Answer {
  column: number;
  worker: number;
  query: number;
  status: number;
  version: string;
  hits: string;
  empty: boolean;
  ms: number;
}

describe('searcher hot swap', () => {
  it('switches to a newly published version with no failed, empty or mixed answer', async () => {
    const snapA = join(tmp, 'snapshot-a');
    const snapB = join(tmp, 'snapshot-b');
    const store = join(tmp, 'store');
    await generateSnapshot(snapA, OFFERS, 5_000, 'searcher-swap');
    let n = 0;
    await copySnapshot(snapA, snapB, {
      offers: (o) => ({
        ...o,
        landingUrl: `${o.landingUrl as string}${(o.landingUrl as string).includes('?') ? '&' : '?'}v=b`,
        status: n++ % 10 === 0 ? 'offline' : o.status,
      }),
      bidwords: (b) =>
        b.bidMicros === undefined
          ? b
          : { ...b, bidMicros: Math.min(MAX_BID_MICROS, (b.bidMicros as number) * 2) },
    });
    const a: Built = await buildIndexVersion(snapA, store, COLUMNS, { zkRoot });
    searchers = [0, 1].map((c) => startSearcherProcess(zkRoot, c, `swap-${c}`));
    const [refA, refB, regs] = await Promise.all([
      loadReferenceSnapshot(snapA),
      loadReferenceSnapshot(snapB),
      Promise.all(searchers.map((s) => waitForRegistration(zk, zkRoot, s, a.version))),
    ]);

    const lines = await readQueryLog(join(snapA, 'queries.jsonl'), 150);
    const queries: SearchRequest[] = lines.map((l, i) => ({ query: l.q, k: [5, 10, 20][i % 3]! }));
    // The expected answer of every (version, column, query), as canonical JSON.
    const expected = (ref: typeof refA, c: number) =>
      queries.map((q) => JSON.stringify(referenceSearch(ref, q, { column: c, columns: COLUMNS })));
    const expectA = [0, 1].map((c) => expected(refA, c));
    const expectB = [0, 1].map((c) => expected(refB, c));
    const bothNonEmpty = (c: number, qi: number) => expectA[c]![qi] !== '[]' && expectB[c]![qi] !== '[]';
    const differing = [0, 1].map(
      (c) => queries.filter((_, qi) => expectA[c]![qi] !== expectB[c]![qi]).length,
    );
    expect(differing[0]).toBeGreaterThan(queries.length / 2);
    expect(differing[1]).toBeGreaterThan(queries.length / 2);

    const clients = regs.map((r: SearcherRegistration) => searchClient(r.url, WORKERS_PER_SEARCHER));
    const answers: Answer[] = [];
    let stop = false;
    let versionB = '';
    const worker = async (column: number, id: number) => {
      for (let i = id; !stop; i++) {
        const qi = i % queries.length;
        const t0 = performance.now();
        const res = await clients[column]!.search(queries[qi]!);
        const ms = performance.now() - t0;
        const hits = res.status === 200 ? JSON.stringify(res.body.hits) : '';
        answers.push({
          column,
          worker: column * 100 + id,
          query: qi,
          status: res.status,
          version: res.status === 200 ? res.body.version : '',
          hits,
          empty: res.status === 200 && res.body.hits.length === 0,
          ms,
        });
      }
    };
    const running = [0, 1].flatMap((c) =>
      Array.from({ length: WORKERS_PER_SEARCHER }, (_, w) => worker(c, w * 37)),
    );
    try {
      await waitFor(() => answers.length >= 300, { what: '300 answers from version A', timeoutMs: 60_000 });
      const b = await buildIndexVersion(snapB, store, COLUMNS, { zkRoot });
      versionB = b.version;
      await Promise.all(searchers.map((s) => waitForRegistration(zk, zkRoot, s, b.version)));
      // Keep querying a while on B, then stop.
      const sinceSwap = answers.length;
      await waitFor(() => answers.length >= sinceSwap + 300, {
        what: '300 answers after the swap',
        timeoutMs: 60_000,
      });
    } finally {
      stop = true;
      await Promise.all(running);
    }

    const slowest = Math.max(...answers.map((x) => x.ms));
    console.info(
      `hot swap: ${answers.length} answers, ${answers.filter((x) => x.version === versionB).length} from the new version, slowest ${slowest.toFixed(1)} ms`,
    );
    const failed = answers.filter((x) => x.status !== 200);
    expect(failed.slice(0, 5)).toEqual([]);
    const wrong = answers.filter((x) => {
      const want = x.version === a.version ? expectA : x.version === versionB ? expectB : undefined;
      return want === undefined || want[x.column]![x.query] !== x.hits;
    });
    expect(wrong.slice(0, 3).map((x) => ({ ...x, hits: x.hits.slice(0, 300) }))).toEqual([]);
    const wronglyEmpty = answers.filter((x) => x.empty && bothNonEmpty(x.column, x.query));
    expect(wronglyEmpty.length).toBe(0);
    // Each client (one request at a time) sees A, then B, and never A again.
    for (const w of new Set(answers.map((x) => x.worker))) {
      const seq = answers.filter((x) => x.worker === w).map((x) => x.version);
      const firstB = seq.indexOf(versionB);
      expect(firstB).toBeGreaterThan(0);
      expect(seq.slice(firstB).every((v) => v === versionB)).toBe(true);
    }
    for (const c of [0, 1]) {
      const ofColumn = answers.filter((x) => x.column === c);
      expect(ofColumn.filter((x) => x.version === a.version).length).toBeGreaterThan(50);
      expect(ofColumn.filter((x) => x.version === versionB).length).toBeGreaterThan(50);
    }

    for (const [c, client] of clients.entries()) {
      const reg = JSON.parse(
        (await zk.get(zkPaths(zkRoot).searcherReplica(c, `swap-${c}`)))!.data.toString(),
      );
      expect(reg).toMatchObject({ version: versionB, column: c });
      const metrics = (await client.get('/metrics')).text;
      expect(metricSum(metrics, 'imatch_searcher_swaps_total')).toBe(2);
      expect(metricSum(metrics, 'imatch_searcher_swap_failures_total')).toBe(0);
      expect(metrics).toContain(`imatch_searcher_index_version_info{version="${versionB}"} 1`);
    }
  });
});
