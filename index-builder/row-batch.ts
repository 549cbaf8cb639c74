// One batch of snapshot lines (offers or bidwords), validated and turned into bucket-file lines:
// the CPU-heavy part of the build (JSON.parse, Ajv, normalization), run in worker threads
// (row-worker.ts). The result is shaped for a cheap trip back to the main thread: typed arrays
// (transferred) and a few large strings instead of one string per row.
//
// Bucket lines (build.ts joins them per bucket):
//   offers:   `id \t online(1|0) \t Offer JSON (the validated line) \t JSON of normalize(title)`
//   bidwords: `offerId \t negative(1|0) \t SegmentBidword JSON`
import { normalize } from '../core/normalize.js';
import { fnv1a32 } from '../core/partition.js';
import { segmentBidwordJson } from './segment-writer.js';
import { validateLine } from './validate-row.js';

export type BatchKind = 'offer' | 'bidword';

/** Why a valid row is left out (index into DROP_REASONS); 0 = kept. */
export const DROP_REASONS = ['', 'offline bidword', 'offline negative keyword'] as const;

export interface BadRow {
  /** 0-based line index inside the batch. */
  line: number;
  reason: string;
  detail: string;
}

export interface BatchResult {
  /** Lines in the batch (blank ones included). */
  lines: number;
  /** Non-blank lines. */
  rows: number;
  /** Valid rows, in line order; the arrays below have `count` entries (idEnd too). */
  count: number;
  /** 0-based line index of each valid row inside the batch. */
  lineOf: Uint32Array;
  /** fnv1a32 of each row's id (duplicate detection on the main thread). */
  idHash: Uint32Array;
  /** The rows' ids, concatenated; row i's id ends at idEnd[i] and starts at idEnd[i - 1] (or 0). */
  idText: string;
  idEnd: Uint32Array;
  /** Bucket of each row's line, -1 when the row is dropped. */
  bucket: Int32Array;
  /** DROP_REASONS index per row. */
  drop: Uint8Array;
  /** Length (UTF-16 units, newline included) of each row's bucket line, 0 when dropped. */
  outLen: Uint32Array;
  /** Per bucket, its rows' lines concatenated in row order ('' when none). */
  bucketText: string[];
  /** 1 when an offer names a customer absent from the snapshot. */
  noCustomer: Uint8Array;
  bad: BadRow[];
}

/** The id of valid row `i` of a batch. */
export function idOf(r: Pick<BatchResult, 'idText' | 'idEnd'>, i: number): string {
  return r.idText.slice(i === 0 ? 0 : r.idEnd[i - 1]!, r.idEnd[i]!);
}

/** Normalizes each distinct keyword once (keywords repeat a lot across advertisers). */
export function keywordNormalizer(limit = 500_000): (keyword: string) => string {
  const cache = new Map<string, string>();
  return (keyword) => {
    let norm = cache.get(keyword);
    if (norm === undefined) {
      if (cache.size >= limit) cache.clear();
      norm = normalize(keyword);
      cache.set(keyword, norm);
    }
    return norm;
  };
}

export interface BatchContext {
  buckets: number;
  keywordNorm: (keyword: string) => string;
  /** Customer ids of the snapshot (offers naming another are counted, not rejected). */
  customers: ReadonlySet<string>;
}

export function processBatch(kind: BatchKind, text: string, ctx: BatchContext): BatchResult {
  const lineOf: number[] = [];
  const idHash: number[] = [];
  const ids: string[] = [];
  const idEnd: number[] = [];
  const bucketOf: number[] = [];
  const drop: number[] = [];
  const outLen: number[] = [];
  const noCustomer: number[] = [];
  const parts: string[][] = Array.from({ length: ctx.buckets }, () => []);
  const bad: BadRow[] = [];
  let idLength = 0;
  let lines = 0;
  let rows = 0;
  const keep = (
    line: number,
    id: string,
    bucket: number,
    out: string,
    dropReason: number,
    orphan: number,
  ) => {
    lineOf.push(line);
    idHash.push(fnv1a32(id));
    ids.push(id);
    idLength += id.length;
    idEnd.push(idLength);
    bucketOf.push(bucket);
    drop.push(dropReason);
    outLen.push(out.length);
    noCustomer.push(orphan);
    if (bucket >= 0) parts[bucket]!.push(out);
  };
  let start = 0;
  for (let line = 0; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let raw = text.slice(start, end);
    start = end + 1;
    lines++;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.trim() === '') continue;
    rows++;
    if (kind === 'offer') {
      const v = validateLine('offer', raw);
      if (!v.ok) {
        bad.push({ line, reason: v.reason, detail: v.detail });
        continue;
      }
      const o = v.row;
      // The validated line itself is the entity's JSON (the schema allows no other keys).
      const out = `${o.id}\t${o.status === 'online' ? '1' : '0'}\t${raw}\t${JSON.stringify(normalize(o.title))}\n`;
      keep(line, o.id, fnv1a32(o.id) % ctx.buckets, out, 0, ctx.customers.has(o.customerId) ? 0 : 1);
    } else {
      const v = validateLine('bidword', raw);
      if (!v.ok) {
        bad.push({ line, reason: v.reason, detail: v.detail });
        continue;
      }
      const bw = v.row;
      const negative = bw.matchType === 'negative-exact' || bw.matchType === 'negative-phrase';
      if (bw.status !== 'online') {
        // A bidword upsert carries the whole bidword, so an offline one is not needed later.
        keep(line, bw.id, -1, '', negative ? 2 : 1, 0);
        continue;
      }
      const out = `${bw.offerId}\t${negative ? '1' : '0'}\t${segmentBidwordJson(bw, ctx.keywordNorm(bw.keyword))}\n`;
      keep(line, bw.id, fnv1a32(bw.offerId) % ctx.buckets, out, 0, 0);
    }
  }
  return {
    lines,
    rows,
    count: ids.length,
    lineOf: Uint32Array.from(lineOf),
    idHash: Uint32Array.from(idHash),
    idText: ids.join(''),
    idEnd: Uint32Array.from(idEnd),
    bucket: Int32Array.from(bucketOf),
    drop: Uint8Array.from(drop),
    outLen: Uint32Array.from(outLen),
    bucketText: parts.map((p) => p.join('')),
    noCustomer: Uint8Array.from(noCustomer),
    bad,
  };
}

/** The typed arrays of a result, for a transfer list. */
export function transferables(r: BatchResult): ArrayBuffer[] {
  return [r.lineOf, r.idHash, r.idEnd, r.bucket, r.drop, r.outLen, r.noCustomer].map(
    (a) => a.buffer as ArrayBuffer,
  );
}
