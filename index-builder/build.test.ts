import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImatchError } from '../core/errors.js';
import { listVersions, manifestProblems, readManifest, verifySegmentFile } from '../core/index-manifest.js';
import { columnOf } from '../core/partition.js';
import type { SearchRequest } from '../core/search-contract.js';
import { createColumnIndex, loadColumnIndex } from '../services/searcher/index/column-index.js';
import { loadReferenceSnapshot, referenceSearch } from '../test/helpers/reference.js';
import { buildIndex } from './build.js';
import { pruneVersions, removeStaleTemps } from './prune.js';
import { writeSnapshot } from './test-support/snapshot-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'imatch-build-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `case-${++n}`);

async function errorOf(p: Promise<unknown>): Promise<ImatchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImatchError);
    return err as ImatchError;
  }
  throw new Error('expected a rejection');
}

describe('build-index', () => {
  it('builds columns whose indexes hold exactly the snapshot rows of their column and answer like the reference', async () => {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 600, watermark: 777 });
    // an orphan bidword: its offer is not in the snapshot
    appendFileSync(
      join(snap.dir, 'bidwords.jsonl'),
      `${JSON.stringify({ id: 'b-orphan', offerId: 'o-missing', keyword: 'red', matchType: 'exact', bidMicros: 5, status: 'online' })}\n`,
    );
    const out = join(base, 'out');
    const result = await buildIndex({
      snapshotDir: snap.dir,
      columns: 3,
      outDir: out,
      bucketBytes: 50_000,
      workers: 2,
    });

    expect(manifestProblems(result.manifest)).toEqual([]);
    expect(await readManifest(result.dir)).toEqual(result.manifest);
    expect(result.manifest.watermark).toBe(777);
    expect(result.manifest.build.buckets).toBeGreaterThan(3); // the join ran bucket by bucket
    expect(result.manifest.counts.offers).toBe(600);
    expect(result.manifest.counts.pendingBidwords).toBe(1);
    const offline = snap.bidwords.filter((b) => b.status === 'offline');
    expect(Object.values(result.manifest.counts.dropped).reduce((a, b) => a + b, 0)).toBe(offline.length);
    expect(readdirSync(out)).toEqual([result.version]); // no temp folder left

    const ref = await loadReferenceSnapshot(snap.dir);
    const queries: SearchRequest[] = [];
    for (const o of snap.offers.slice(0, 60))
      queries.push({ query: o.title.split(' ').slice(0, 2).join(' '), k: 5 });
    for (const b of snap.bidwords.slice(0, 120))
      queries.push({ query: `${b.keyword} shoes`, k: 10, region: 'US' });
    queries.push({ query: 'leather', k: 20, category: 'apparel' });

    for (let column = 0; column < 3; column++) {
      const loaded = await loadColumnIndex(result.dir, column);
      expect(loaded.version).toBe(result.version);
      expect(loaded.watermark).toBe(777);
      expect(loaded.appliedId).toBe(777);
      const expected = createColumnIndex({
        version: result.version,
        column,
        columns: 3,
        watermark: 777,
        customers: snap.customers,
        offers: snap.offers,
        bidwords: [
          ...snap.bidwords,
          {
            id: 'b-orphan',
            offerId: 'o-missing',
            keyword: 'red',
            matchType: 'exact',
            bidMicros: 5,
            status: 'online',
          },
        ],
      });
      expect(loaded.dump()).toEqual(expected.dump());
      expect(loaded.dump().offers.every((o) => columnOf(o.offer.id, 3) === column)).toBe(true);
      expect(loaded.stats()).toMatchObject({
        customers: 20,
        offers: result.manifest.segments[column]!.offers,
        bidwords: result.manifest.segments[column]!.bidwords,
      });
      for (const req of queries) {
        expect(loaded.search(req)).toEqual(referenceSearch(ref, req, { column, columns: 3 }));
      }
    }
  });

  it('stops at the first bad row and names the file, line and reason; leaves nothing behind', async () => {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 30 });
    const lines = readFileSync(join(snap.dir, 'offers.jsonl'), 'utf8').split('\n');
    lines[6] = lines[6]!.replace(/"quality":[0-9.]+/, '"quality":1.5');
    lines[9] = '{not json';
    writeFileSync(join(snap.dir, 'offers.jsonl'), lines.join('\n'));
    const out = join(base, 'out');
    const err = await errorOf(buildIndex({ snapshotDir: snap.dir, columns: 2, outDir: out, workers: 2 }));
    expect(err.code).toBe('IM_ERR_BAD_ROW');
    expect(err.message).toBe(`${join(snap.dir, 'offers.jsonl')}:7: offer /quality must be <= 1 (got 1.5)`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('--skip-bad skips bad rows, counts them by reason and builds the rest', async () => {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 40 });
    const bad = [
      { id: 'bx1', offerId: 'o1', keyword: 'x', matchType: 'fuzzy', bidMicros: 5, status: 'online' },
      { id: 'bx2', offerId: 'o1', keyword: 'x', matchType: 'exact', status: 'online' },
      { id: 'bx3', offerId: 'o1', keyword: 'x', matchType: 'negative-exact', bidMicros: 5, status: 'online' },
      { id: 'bx4', offerId: 'o1', keyword: 'x', matchType: 'exact', status: 'online' },
      { id: 'bx5', offerId: 'o1', keyword: 'x', matchType: 'exact', bidMicros: 0, status: 'online' },
      { id: 'b0', offerId: 'o1', keyword: 'dup', matchType: 'exact', bidMicros: 5, status: 'online' },
    ];
    appendFileSync(join(snap.dir, 'bidwords.jsonl'), `${bad.map((b) => JSON.stringify(b)).join('\n')}\n`);
    appendFileSync(join(snap.dir, 'customers.jsonl'), 'not json at all\n');
    const out = join(base, 'out');
    const result = await buildIndex({ snapshotDir: snap.dir, columns: 2, outDir: out, skipBad: true });
    expect(result.manifest.counts.skipped).toEqual({
      'bidword /matchType is not an allowed value': 1,
      'bidword: positive bidword lacks bidMicros': 2,
      'bidword: negative keyword carries bidMicros': 1,
      'bidword /bidMicros must be >= 1': 1,
      'bidword: duplicate id': 1,
      'customer: not valid JSON': 1,
    });
    expect(result.skippedExamples).toHaveLength(7);
    expect(result.skippedExamples[0]).toBe(
      `${join(snap.dir, 'customers.jsonl')}:21: customer: not valid JSON`,
    );
    expect(result.skippedExamples[1]).toMatch(
      /bidwords\.jsonl:\d+: bidword \/matchType .*Allowed: exact, phrase, broad/,
    );
    const loaded = await Promise.all([0, 1].map((c) => loadColumnIndex(result.dir, c)));
    const all = loaded.flatMap((i) => i.dump().offers.flatMap((o) => o.bidwords.map((b) => b.id)));
    expect(all.filter((id) => id.startsWith('bx'))).toEqual([]);
    expect(loaded.reduce((s, i) => s + i.stats().offers, 0)).toBe(40);
  });

  it('with worker threads, bad rows and duplicates across many batches come out in file order with exact lines', async () => {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 12_000, perOffer: 6 });
    const path = join(snap.dir, 'bidwords.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    const badAt = [3, 9_000, 30_001, 52_345, lines.length - 2]; // 0-based indexes, several 1 MiB batches apart
    for (const i of badAt) lines[i] = lines[i]!.replace('"matchType":', '"matchType":"fuzzy","x":');
    lines[20_000] = lines[20_000]!.replace('"status":"offline"', '"status":"online"');
    lines[40_000] = lines[20_000]!; // a duplicate id far from its first occurrence
    writeFileSync(path, lines.join('\n'));
    const result = await buildIndex({
      snapshotDir: snap.dir,
      columns: 2,
      outDir: join(base, 'out'),
      skipBad: true,
      workers: 2,
    });
    const where = result.skippedExamples.map((e) =>
      Number(e.slice(path.length + 1, e.indexOf(':', path.length + 1))),
    );
    expect(where).toEqual([4, 9_001, 30_002, 40_001, 52_346, lines.length - 1]);
    expect(result.skippedExamples[3]).toContain('bidword b20000 appears twice');
    expect(Object.values(result.manifest.counts.skipped).reduce((a, b) => a + b, 0)).toBe(6);
    // The duplicate's line is cut out of its bucket: the bidword is held once, the rest all kept.
    const dumps = await Promise.all([0, 1].map(async (c) => (await loadColumnIndex(result.dir, c)).dump()));
    const held = dumps.flatMap((d) => d.offers.flatMap((o) => o.bidwords.map((b) => b.id)));
    expect(held.filter((id) => id === 'b20000')).toHaveLength(1);
    const online = lines.filter((l, i) => l.includes('"status":"online"') && !badAt.includes(i)).length - 1;
    expect(held.length + dumps.reduce((n, d) => n + d.pendingBidwords.length, 0)).toBe(online);
    const err = await errorOf(
      buildIndex({ snapshotDir: snap.dir, columns: 2, outDir: join(base, 'out2'), workers: 2 }),
    );
    expect(err.message.startsWith(`${path}:4: `)).toBe(true);
  }, 60_000);

  it('an aborted build leaves no version and no temp folder', async () => {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 3000 });
    const out = join(base, 'out');
    const abort = new AbortController();
    const reason = new Error('stop');
    const p = buildIndex({
      snapshotDir: snap.dir,
      columns: 2,
      outDir: out,
      signal: abort.signal,
      bucketBytes: 100_000,
      onProgress: (pr) => {
        if (pr.phase === 'segments' && pr.done === 2) abort.abort(reason);
      },
    });
    await expect(p).rejects.toBe(reason);
    expect(readdirSync(out)).toEqual([]);
    expect(await listVersions(out)).toEqual([]);
  });
});

describe('loading a damaged version', () => {
  async function built() {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 100 });
    return buildIndex({ snapshotDir: snap.dir, columns: 2, outDir: join(base, 'out') });
  }

  it('a flipped byte fails the checksum: IM_ERR_INDEX_CORRUPT naming the file', async () => {
    const r = await built();
    const path = join(r.dir, 'col-1.seg');
    const buf = readFileSync(path);
    buf[buf.length >> 1] = buf[buf.length >> 1]! ^ 0x01;
    writeFileSync(path, buf);
    const err = await errorOf(loadColumnIndex(r.dir, 1));
    expect(err.code).toBe('IM_ERR_INDEX_CORRUPT');
    expect(err.message).toContain(path);
    expect((await errorOf(verifySegmentFile(r.dir, r.manifest.segments[1]!))).code).toBe(
      'IM_ERR_INDEX_CORRUPT',
    );
    await expect(loadColumnIndex(r.dir, 0)).resolves.toBeDefined(); // the other column is fine
  });

  it('a truncated segment is refused, even without checksum verification', async () => {
    const r = await built();
    const path = join(r.dir, 'col-0.seg');
    truncateSync(path, r.manifest.segments[0]!.bytes - 200);
    expect((await errorOf(loadColumnIndex(r.dir, 0))).message).toMatch(/truncated/);
    expect((await errorOf(loadColumnIndex(r.dir, 0, { verify: false }))).code).toBe('IM_ERR_INDEX_CORRUPT');
  });

  it('missing version, manifest, column or segment: IM_ERR_INDEX_MISSING', async () => {
    const r = await built();
    expect((await errorOf(loadColumnIndex(join(r.dir, 'nope'), 0))).code).toBe('IM_ERR_INDEX_MISSING');
    expect((await errorOf(loadColumnIndex(r.dir, 2))).message).toMatch(/columns 0\.\.1, not column 2/);
    rmSync(join(r.dir, 'col-0.seg'));
    expect((await errorOf(loadColumnIndex(r.dir, 0))).code).toBe('IM_ERR_INDEX_MISSING');
  });

  it('a manifest that is not valid is IM_ERR_INDEX_CORRUPT', async () => {
    const r = await built();
    writeFileSync(join(r.dir, 'manifest.json'), JSON.stringify({ ...r.manifest, columns: 3 }));
    expect((await errorOf(loadColumnIndex(r.dir, 0))).message).toMatch(/3 columns but 2 segments/);
  });
});

describe('prune', () => {
  it('keeps the newest versions and never a protected one; removes dead builds’ temp folders', async () => {
    const base = fresh();
    const snap = writeSnapshot(join(base, 'snap'), { offers: 10 });
    const out = join(base, 'out');
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const at = new Date(Date.UTC(2025, 2, 1, 2, i));
      versions.push(
        (await buildIndex({ snapshotDir: snap.dir, columns: 1, outDir: out, now: () => at })).version,
      );
    }
    expect(await listVersions(out)).toEqual(versions);
    const removed = await pruneVersions(out, 2, new Set([versions[0]!]));
    expect(removed).toEqual(versions.slice(1, 4));
    expect(await listVersions(out)).toEqual([versions[0], versions[4]]);

    // a temp folder of a process that is gone goes; ours (this pid) stays
    const dead = join(out, '.tmp-20250301T000000000Z-000000-999999999');
    const ours = join(out, `.tmp-20250301T000000000Z-000001-${process.pid}`);
    writeSnapshot(dead, { offers: 1 });
    writeSnapshot(ours, { offers: 1 });
    expect(await removeStaleTemps(out)).toEqual(['.tmp-20250301T000000000Z-000000-999999999']);
    expect(readdirSync(out).sort()).toEqual([versions[0], versions[4], ours.slice(out.length + 1)].sort());
  });
});
