// The daily full build (DESIGN.md "index-builder"): BP snapshot folder -> one index version
// (a segment per column + manifest.json) in an index store folder. Memory stays bounded by one
// bucket, not by the snapshot:
//   1. customers.jsonl is validated and kept (customers are few, and every segment holds them all);
//   2. offers.jsonl and bidwords.jsonl are validated row by row on worker threads (row-pool.ts,
//      results consumed in file order) and appended to per-bucket temp files by
//      fnv1a32(offer id) % buckets (buckets = columns x K, so bucket % columns is the column),
//      with the normalized title / keyword computed once here;
//   3. per column, each of its buckets is joined in memory (bidwords grouped onto their offer,
//      as the seed's offline platform aggregates them) and appended to the column's segment.
// Everything is written under <out>/.tmp-<version>-<pid>/, fsynced, and renamed into place in one
// step, so an interrupted build never leaves a visible half version.
//
// Concurrency model: one build per call; row validation runs on a pool of worker threads, everything
// else on the main thread, async only for file reads and worker answers (so SIGINT is seen between
// 1 MiB chunks); writes are synchronous. Two builds into one folder do not collide (distinct
// version ids and temp folders).
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ImatchError } from '../core/errors.js';
import {
  INDEX_FORMAT,
  INDEX_FORMAT_VERSION,
  type IndexManifest,
  MANIFEST_FILE,
  newVersionId,
  type SegmentEntry,
  segmentFileName,
  TMP_PREFIX,
} from '../core/index-manifest.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { PARTITION_FUNCTION } from '../core/partition.js';
import { IdTable } from './id-table.js';
import { removeStaleTemps } from './prune.js';
import { type BatchKind, type BatchResult, DROP_REASONS, idOf } from './row-batch.js';
import { parallelRows, RowPool } from './row-pool.js';
import { BufferedFile, SegmentWriter } from './segment-writer.js';
import { readLines, readSnapshotMeta, SNAPSHOT_FILES, snapshotSizes } from './snapshot-reader.js';
import { validateLine } from './validate-row.js';

export const BUILD_TOOL = 'imatch build-index 0.1.0';

export type BuildPhase = 'customers' | 'offers' | 'bidwords' | 'segments';

export interface BuildProgress {
  phase: BuildPhase;
  /** Bytes read (row phases) or buckets written (segments). */
  done: number;
  total: number;
  /** Rows read so far in this phase (row phases) or offers written (segments). */
  rows: number;
}

export interface BuildOptions {
  /** BP snapshot folder (snapshot.json, customers.jsonl, offers.jsonl, bidwords.jsonl). */
  snapshotDir: string;
  columns: number;
  /** Index store folder; the version is created as <outDir>/<version>. */
  outDir: string;
  /** Skip bad rows, counting them by reason (default: stop at the first one). */
  skipBad?: boolean;
  logger?: Logger;
  onProgress?: (p: BuildProgress) => void;
  /** Aborting stops the build and removes its temp folder. */
  signal?: AbortSignal;
  now?: () => Date;
  /** Snapshot bytes (offers + bidwords) per bucket; bounds the join's memory. Default 64 MiB. */
  bucketBytes?: number;
  /** Worker threads validating rows (default: one per CPU, at most 4; none below 8 MB of rows). */
  workers?: number;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export interface BuildResult {
  version: string;
  /** Absolute path of the new version folder. */
  dir: string;
  manifest: IndexManifest;
  /** The first skipped rows, as "file:line: detail" (at most 20). */
  skippedExamples: string[];
}

const MAX_EXAMPLES = 20;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function increment(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export async function buildIndex(opts: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const log = opts.logger ?? silentLogger();
  const columns = opts.columns;
  if (!Number.isInteger(columns) || columns < 1 || columns > 4096) {
    throw new ImatchError('IM_ERR_CONFIG', `--columns must be an integer 1..4096, got ${columns}`);
  }
  const snapshotDir = resolve(opts.snapshotDir);
  const outDir = resolve(opts.outDir);
  const meta = await readSnapshotMeta(snapshotDir);
  const sizes = await snapshotSizes(snapshotDir);
  const perColumn = Math.max(
    1,
    Math.ceil((sizes.offers + sizes.bidwords) / (columns * (opts.bucketBytes ?? 64 * 1024 * 1024))),
  );
  const buckets = columns * perColumn;

  await mkdir(outDir, { recursive: true });
  await removeStaleTemps(outDir, log);
  const version = newVersionId((opts.now ?? (() => new Date()))());
  const tmp = join(outDir, `${TMP_PREFIX}${version}-${process.pid}`);
  const work = join(tmp, 'work');
  await mkdir(work, { recursive: true });
  log.info({ version, snapshotDir, columns, buckets, tmp }, 'index build started');

  const skipped: Record<string, number> = {};
  const dropped: Record<string, number> = {};
  const examples: string[] = [];
  const bad = (file: string, lineNo: number, reason: string, detail: string) => {
    const where = `${join(snapshotDir, file)}:${lineNo}`;
    if (opts.skipBad !== true) {
      throw new ImatchError('IM_ERR_BAD_ROW', `${where}: ${detail}`, {
        details: { file, line: lineNo, reason },
      });
    }
    increment(skipped, reason);
    if (examples.length < MAX_EXAMPLES) examples.push(`${where}: ${detail}`);
  };
  const progress = (phase: BuildPhase, total: number) => {
    let rows = 0;
    return {
      row: () => rows++,
      rows: (n: number) => {
        rows += n;
      },
      bytes: (done: number) => opts.onProgress?.({ phase, done, total, rows }),
    };
  };

  const openFiles: BufferedFile[] = [];
  const writers: SegmentWriter[] = [];
  try {
    // 1. customers: kept in memory, serialized once.
    const customerJsons: string[] = [];
    const customerIds = new Set<string>();
    {
      const p = progress('customers', sizes.customers);
      await readLines(
        join(snapshotDir, SNAPSHOT_FILES.customers),
        (text, lineNo) => {
          p.row();
          const r = validateLine('customer', text);
          if (!r.ok) return bad(SNAPSHOT_FILES.customers, lineNo, r.reason, r.detail);
          if (customerIds.has(r.row.id)) {
            return bad(
              SNAPSHOT_FILES.customers,
              lineNo,
              'customer: duplicate id',
              `customer ${r.row.id} appears twice`,
            );
          }
          customerIds.add(r.row.id);
          customerJsons.push(JSON.stringify(r.row));
        },
        { onBytes: p.bytes, ...(opts.signal ? { signal: opts.signal } : {}) },
      );
    }

    // 2. offers and bidwords -> bucket files. Offer lines: `id \t online \t Offer JSON \t title norm JSON`;
    //    bidword lines: `offerId \t negative \t SegmentBidword JSON`.
    const offerBuckets: BufferedFile[] = [];
    const bidwordBuckets: BufferedFile[] = [];
    for (let b = 0; b < buckets; b++) {
      offerBuckets.push(new BufferedFile(join(work, `o-${b}.tsv`), undefined, 1 << 20));
      bidwordBuckets.push(new BufferedFile(join(work, `b-${b}.tsv`), undefined, 1 << 20));
    }
    openFiles.push(...offerBuckets, ...bidwordBuckets);
    let offersWithoutCustomer = 0;
    // Each batch's rows are checked for duplicate ids and written in file order (row-pool.ts).
    const consumeRows = (
      file: string,
      kind: BatchKind,
      files: BufferedFile[],
      p: ReturnType<typeof progress>,
    ) => {
      const table = new IdTable(1 << 20);
      // Every batch's ids stay reachable by global row number, to compare ids whose hashes collide.
      const batchStart: number[] = [];
      const batchIds: Pick<BatchResult, 'idText' | 'idEnd'>[] = [];
      const idOfRow = (row: number): string => {
        let lo = 0;
        let hi = batchStart.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (batchStart[mid]! <= row) lo = mid;
          else hi = mid - 1;
        }
        return idOf(batchIds[lo]!, row - batchStart[lo]!);
      };
      let rowBase = 0;
      return (r: BatchResult, firstLine: number) => {
        p.rows(r.rows);
        batchStart.push(rowBase);
        batchIds.push({ idText: r.idText, idEnd: r.idEnd });
        let skipped: Uint8Array | undefined;
        let b = 0;
        for (let i = 0; i < r.count; i++) {
          const line = r.lineOf[i]!;
          for (; b < r.bad.length && r.bad[b]!.line < line; b++) {
            bad(file, firstLine + r.bad[b]!.line, r.bad[b]!.reason, r.bad[b]!.detail);
          }
          const first = table.add(r.idHash[i]!, rowBase + i, () => idOf(r, i), idOfRow);
          if (first >= 0) {
            const id = idOf(r, i);
            bad(file, firstLine + line, `${kind}: duplicate id`, `${kind} ${id} appears twice`);
            if (r.bucket[i]! >= 0) {
              skipped ??= new Uint8Array(r.count);
              skipped[i] = 1;
            }
            continue;
          }
          const drop = r.drop[i]!;
          if (drop !== 0) increment(dropped, DROP_REASONS[drop]!);
          else if (r.noCustomer[i] === 1) offersWithoutCustomer++;
        }
        for (; b < r.bad.length; b++)
          bad(file, firstLine + r.bad[b]!.line, r.bad[b]!.reason, r.bad[b]!.detail);
        rowBase += r.count;
        if (skipped === undefined) {
          for (let k = 0; k < r.bucketText.length; k++)
            if (r.bucketText[k] !== '') files[k]!.write(r.bucketText[k]!);
          return;
        }
        // Some rows were duplicates: cut them out of their bucket's text.
        const offset = new Array<number>(r.bucketText.length).fill(0);
        for (let i = 0; i < r.count; i++) {
          const k = r.bucket[i]!;
          if (k < 0) continue;
          const len = r.outLen[i]!;
          if (skipped[i] !== 1) files[k]!.write(r.bucketText[k]!.slice(offset[k]!, offset[k]! + len));
          offset[k]! += len;
        }
      };
    };
    // Worker threads pay off from a few MB on; small snapshots are processed on this thread.
    const small = sizes.offers + sizes.bidwords < 8 * 1024 * 1024;
    const pool = new RowPool(opts.workers ?? (small ? 0 : defaultWorkers()), [...customerIds], buckets);
    try {
      const readOpts = (p: ReturnType<typeof progress>) => ({
        onBytes: p.bytes,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const po = progress('offers', sizes.offers);
      await parallelRows(
        pool,
        'offer',
        join(snapshotDir, SNAPSHOT_FILES.offers),
        consumeRows(SNAPSHOT_FILES.offers, 'offer', offerBuckets, po),
        readOpts(po),
      );
      const pb = progress('bidwords', sizes.bidwords);
      await parallelRows(
        pool,
        'bidword',
        join(snapshotDir, SNAPSHOT_FILES.bidwords),
        consumeRows(SNAPSHOT_FILES.bidwords, 'bidword', bidwordBuckets, pb),
        readOpts(pb),
      );
    } finally {
      await pool.close();
    }
    for (const f of openFiles) f.close(false);
    openFiles.length = 0;

    // 3. join bucket by bucket into each column's segment.
    const segments: SegmentEntry[] = [];
    let bucketsDone = 0;
    let offersWritten = 0;
    for (let column = 0; column < columns; column++) {
      const file = segmentFileName(column);
      const writer = new SegmentWriter(join(tmp, file), {
        version,
        column,
        columns,
        watermark: meta.watermark,
      });
      writers.push(writer);
      for (const json of customerJsons) writer.customer(json);
      for (let b = column; b < buckets; b += columns) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const byOffer = new Map<string, { jsons: string[]; negatives: number }>();
        await readLines(join(work, `b-${b}.tsv`), (line) => {
          const t1 = line.indexOf('\t');
          const offerId = line.slice(0, t1);
          let group = byOffer.get(offerId);
          if (group === undefined) {
            group = { jsons: [], negatives: 0 };
            byOffer.set(offerId, group);
          }
          group.jsons.push(line.slice(t1 + 3));
          if (line.charCodeAt(t1 + 1) === 49 /* '1' */) group.negatives++;
        });
        await readLines(join(work, `o-${b}.tsv`), (line) => {
          const t1 = line.indexOf('\t');
          const t2 = line.indexOf('\t', t1 + 1);
          const t3 = line.lastIndexOf('\t');
          const offerId = line.slice(0, t1);
          const group = byOffer.get(offerId);
          if (group !== undefined) byOffer.delete(offerId);
          writer.offer(
            line.slice(t2 + 1, t3),
            line.charCodeAt(t1 + 1) === 49,
            line.slice(t3 + 1),
            group?.jsons ?? [],
            group?.negatives ?? 0,
          );
          offersWritten++;
        });
        // Bidwords whose offer is not in the snapshot: kept aside, the offer may arrive later.
        for (const [offerId, group] of byOffer) for (const json of group.jsons) writer.pending(offerId, json);
        await unlink(join(work, `b-${b}.tsv`));
        await unlink(join(work, `o-${b}.tsv`));
        bucketsDone++;
        opts.onProgress?.({ phase: 'segments', done: bucketsDone, total: buckets, rows: offersWritten });
      }
      const { bytes, sha256 } = writer.finish();
      segments.push({ column, file, bytes, sha256, ...writer.counts });
      log.info({ column, bytes, ...writer.counts }, 'segment written');
    }
    writers.length = 0;

    const sum = (k: keyof SegmentEntry) => segments.reduce((n, s) => n + (s[k] as number), 0);
    const manifest: IndexManifest = {
      format: INDEX_FORMAT,
      formatVersion: INDEX_FORMAT_VERSION,
      version,
      createdAt: new Date().toISOString(),
      columns,
      partition: PARTITION_FUNCTION,
      watermark: meta.watermark,
      snapshot: { takenAt: meta.takenAt, watermark: meta.watermark, dir: snapshotDir },
      counts: {
        customers: customerJsons.length,
        offers: sum('offers'),
        bidwords: sum('bidwords'),
        negatives: sum('negatives'),
        pendingBidwords: sum('pendingBidwords'),
        dropped,
        skipped,
      },
      segments,
      build: {
        tool: BUILD_TOOL,
        durationMs: Math.round(performance.now() - started),
        buckets,
        offersWithoutCustomer,
      },
    };
    const manifestPath = join(tmp, MANIFEST_FILE);
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const fd = openSync(manifestPath, 'r');
    fsyncSync(fd);
    closeSync(fd);
    await rm(work, { recursive: true, force: true });
    fsyncDir(tmp);
    if (opts.signal?.aborted) throw opts.signal.reason;
    const dir = join(outDir, version);
    await rename(tmp, dir);
    fsyncDir(outDir);
    log.info(
      { version, dir, durationMs: manifest.build.durationMs, ...manifest.counts },
      offersWithoutCustomer > 0
        ? `index version built (${offersWithoutCustomer} offers name a customer absent from the snapshot; kept, not served)`
        : 'index version built',
    );
    return { version, dir, manifest, skippedExamples: examples };
  } catch (err) {
    for (const f of openFiles) {
      try {
        f.close(false);
      } catch {
        // already closed
      }
    }
    for (const w of writers) w.abandon();
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
