// A damaged index version is refused while the old one keeps serving, end to end: two searcher
// processes serve version A; version B (built from a modified snapshot, so its answers differ) is
// published five times, each time damaged differently: bytes flipped in the segments (checksum
// mismatch), segments truncated, segments missing, a segment that is not valid JSON but whose
// manifest checksum was updated to match, and a manifest that is not JSON. Each time both
// searchers must refuse it (error log naming the version and the reason, a swap-failure metric),
// keep version A in /readyz and in ZooKeeper, and keep answering exactly A's reference answers.
// Finally B is restored and published intact, and both switch to it.
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexManifest } from '../core/index-manifest.js';
import { MAX_BID_MICROS } from '../core/model.js';
import type { SearchRequest } from '../core/search-contract.js';
import { type SearcherRegistration, zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import { uniqueZkRoot, waitFor, zkConnect } from './helpers/index.js';
import { loadReferenceSnapshot, type ReferenceSnapshot, referenceSearch } from './helpers/reference.js';
import {
  type Built,
  buildIndexVersion,
  copySnapshot,
  generateSnapshot,
  metricSum,
  publishVersion,
  readQueryLog,
  type SearchClient,
  type SearcherProcess,
  searchClient,
  startSearcherProcess,
  waitForRegistration,
} from './helpers/searcher-cluster.js';

const OFFERS = 20_000;
const COLUMNS = 2;

let tmp: string;
let zk: ZkClient;
let zkRoot: string;
let searchers: SearcherProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imatch-corrupt-it-'));
  zkRoot = uniqueZkRoot('searcher-corrupt');
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

/** `refused index version` log lines of a searcher process (pino JSON on stdout). */
function refusals(s: SearcherProcess): { version: string; code: string; msg: string }[] {
  return s.proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('refused index version'))
    .map((l) => JSON.parse(l) as { version: string; code: string; msg: string });
}

describe('searcher given a damaged index version', () => {
  it('refuses it with a clear error and a metric, and keeps serving the old version', async () => {
    const snapA = join(tmp, 'snapshot-a');
    const snapB = join(tmp, 'snapshot-b');
    const store = join(tmp, 'store');
    await generateSnapshot(snapA, OFFERS, 3_000, 'searcher-corrupt');
    await copySnapshot(snapA, snapB, {
      bidwords: (b) =>
        b.bidMicros === undefined
          ? b
          : { ...b, bidMicros: Math.min(MAX_BID_MICROS, (b.bidMicros as number) * 3) },
    });
    const a: Built = await buildIndexVersion(snapA, store, COLUMNS, { zkRoot });
    const b: Built = await buildIndexVersion(snapB, store, COLUMNS);
    searchers = [0, 1].map((c) => startSearcherProcess(zkRoot, c, `corrupt-${c}`));
    const [refA, refB, regs] = await Promise.all([
      loadReferenceSnapshot(snapA),
      loadReferenceSnapshot(snapB),
      Promise.all(searchers.map((s) => waitForRegistration(zk, zkRoot, s, a.version))),
    ]);
    const clients = regs.map((r: SearcherRegistration) => searchClient(r.url));
    const queries: SearchRequest[] = (await readQueryLog(join(snapA, 'queries.jsonl'), 40)).map((l, i) => ({
      query: l.q,
      k: [5, 10, 20][i % 3]!,
    }));

    const segmentPath = (c: number) => join(b.dir, `col-${c}.seg`);
    const manifestPath = join(b.dir, 'manifest.json');
    const pristine = {
      manifest: await readFile(manifestPath),
      segments: await Promise.all([0, 1].map((c) => readFile(segmentPath(c)))),
    };
    const restore = async () => {
      await writeFile(manifestPath, pristine.manifest);
      await Promise.all([0, 1].map((c) => writeFile(segmentPath(c), pristine.segments[c]!)));
    };

    const expectServing = async (version: string, ref: ReferenceSnapshot, clientsOf: SearchClient[]) => {
      for (const [c, client] of clientsOf.entries()) {
        const ready = JSON.parse((await client.get('/readyz')).text) as { version: string };
        expect(ready.version).toBe(version);
        const node = await zk.get(zkPaths(zkRoot).searcherReplica(c, `corrupt-${c}`));
        expect(JSON.parse(node!.data.toString()).version).toBe(version);
        let nonEmpty = 0;
        for (const q of queries) {
          const res = await client.search(q);
          expect(res.status).toBe(200);
          expect(res.body.version).toBe(version);
          expect(res.body.hits).toEqual(referenceSearch(ref, q, { column: c, columns: COLUMNS }));
          if (res.body.hits.length > 0) nonEmpty++;
        }
        expect(nonEmpty).toBeGreaterThan(queries.length / 2);
      }
    };

    const damages: { name: string; code: string; damage: () => Promise<void> }[] = [
      {
        name: 'bytes flipped in the middle of each segment',
        code: 'IM_ERR_INDEX_CORRUPT',
        damage: async () => {
          for (const c of [0, 1]) {
            const buf = Buffer.from(pristine.segments[c]!);
            const mid = buf.length >> 1;
            for (let i = mid; i < mid + 16; i++) buf[i] = buf[i]! ^ 0x5a;
            await writeFile(segmentPath(c), buf);
          }
        },
      },
      {
        name: 'segments truncated',
        code: 'IM_ERR_INDEX_CORRUPT',
        damage: async () => {
          for (const c of [0, 1]) {
            await writeFile(
              segmentPath(c),
              pristine.segments[c]!.subarray(0, Math.floor(pristine.segments[c]!.length * 0.6)),
            );
          }
        },
      },
      {
        name: 'segments missing',
        code: 'IM_ERR_INDEX_MISSING',
        damage: async () => {
          for (const c of [0, 1]) await unlink(segmentPath(c));
        },
      },
      {
        name: 'segment is not valid JSON, manifest checksum updated to match',
        code: 'IM_ERR_INDEX_CORRUPT',
        damage: async () => {
          const manifest = JSON.parse(pristine.manifest.toString('utf8')) as IndexManifest;
          const { createHash } = await import('node:crypto');
          for (const c of [0, 1]) {
            const buf = Buffer.from(pristine.segments[c]!);
            const mid = buf.indexOf('\n', buf.length >> 1) + 1;
            buf.write('{"not": json at all', mid, 'utf8');
            await writeFile(segmentPath(c), buf);
            manifest.segments[c]!.sha256 = createHash('sha256').update(buf).digest('hex');
            manifest.segments[c]!.bytes = buf.length;
          }
          await writeFile(manifestPath, JSON.stringify(manifest));
        },
      },
      {
        name: 'manifest is not JSON',
        code: 'IM_ERR_INDEX_CORRUPT',
        damage: async () => {
          await writeFile(manifestPath, pristine.manifest.subarray(0, 40));
        },
      },
    ];

    for (const [i, d] of damages.entries()) {
      await d.damage();
      await publishVersion(zk, zkRoot, b);
      for (const [c, client] of clients.entries()) {
        // The metric and the log line (written asynchronously by pino) both show the refusal.
        await waitFor(
          async () =>
            metricSum((await client.get('/metrics')).text, 'imatch_searcher_swap_failures_total') === i + 1 &&
            refusals(searchers[c]!).length === i + 1,
          { what: `column ${c} to refuse version ${b.version} (${d.name})`, timeoutMs: 60_000 },
        );
        const logged = refusals(searchers[c]!);
        expect(logged.length, d.name).toBe(i + 1);
        expect(logged[i], d.name).toMatchObject({ version: b.version, code: d.code });
        expect(logged[i]!.msg, d.name).toContain(`refused index version ${b.version}: `);
        expect(logged[i]!.msg, d.name).toContain(`still serving ${a.version}`);
      }
      await expectServing(a.version, refA, clients);
      await restore();
    }

    // Intact again: both searchers switch to it.
    await publishVersion(zk, zkRoot, b);
    await Promise.all(searchers.map((s) => waitForRegistration(zk, zkRoot, s, b.version)));
    await expectServing(b.version, refB, clients);
    for (const client of clients) {
      const metrics = (await client.get('/metrics')).text;
      expect(metricSum(metrics, 'imatch_searcher_swaps_total')).toBe(2);
      expect(metricSum(metrics, 'imatch_searcher_swap_failures_total')).toBe(damages.length);
    }
  });
});
