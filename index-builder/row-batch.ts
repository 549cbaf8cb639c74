// One batch of snapshot lines (offers or bidwords), validated and turned into bucket-file lines:
// the CPU-heavy part of the build (JSON.parse, Ajv, normalization), run in worker threads
// (row-worker.ts). Pure apart from the keyword-normalization cache the caller passes in.
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
  /** Per valid row, in line order: */
  ids: string[];
  lineOf: number[];
  /** Bucket of the row's output, -1 when dropped. */
  bucket: number[];
  /** The bucket line (no newline), '' when dropped. */
  out: string[];
  /** DROP_REASONS index. */
  drop: number[];
  /** Offers only: each valid row's customer id (for the "offers without customer" count). */
  customerIds: string[];
  bad: BadRow[];
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

export function processBatch(
  kind: BatchKind,
  text: string,
  buckets: number,
  keywordNorm: (keyword: string) => string,
): BatchResult {
  const r: BatchResult = {
    lines: 0,
    rows: 0,
    ids: [],
    lineOf: [],
    bucket: [],
    out: [],
    drop: [],
    customerIds: [],
    bad: [],
  };
  let start = 0;
  for (let line = 0; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let raw = text.slice(start, end);
    start = end + 1;
    r.lines++;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.trim() === '') continue;
    r.rows++;
    if (kind === 'offer') {
      const v = validateLine('offer', raw);
      if (!v.ok) {
        r.bad.push({ line, reason: v.reason, detail: v.detail });
        continue;
      }
      const o = v.row;
      r.ids.push(o.id);
      r.lineOf.push(line);
      r.customerIds.push(o.customerId);
      r.bucket.push(fnv1a32(o.id) % buckets);
      // The validated line itself is the entity's JSON (the schema allows no other keys).
      r.out.push(
        `${o.id}\t${o.status === 'online' ? '1' : '0'}\t${raw}\t${JSON.stringify(normalize(o.title))}`,
      );
      r.drop.push(0);
    } else {
      const v = validateLine('bidword', raw);
      if (!v.ok) {
        r.bad.push({ line, reason: v.reason, detail: v.detail });
        continue;
      }
      const bw = v.row;
      const negative = bw.matchType === 'negative-exact' || bw.matchType === 'negative-phrase';
      r.ids.push(bw.id);
      r.lineOf.push(line);
      if (bw.status !== 'online') {
        // A bidword upsert carries the whole bidword, so an offline one is not needed later.
        r.bucket.push(-1);
        r.out.push('');
        r.drop.push(negative ? 2 : 1);
        continue;
      }
      r.bucket.push(fnv1a32(bw.offerId) % buckets);
      r.out.push(
        `${bw.offerId}\t${negative ? '1' : '0'}\t${segmentBidwordJson(bw, keywordNorm(bw.keyword))}`,
      );
      r.drop.push(0);
    }
  }
  return r;
}
