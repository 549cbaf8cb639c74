// The brute-force reference the searcher is checked against. Written independently of
// services/searcher/index: it imports only the shared semantics (core/normalize, core/ranking,
// core/model, core/partition) and scans every offer of a column for every query, so any shortcut
// the real index takes (n-gram maps, subset enumeration, flexsearch) is checked against the plain
// definitions in DESIGN.md:
//   - after tokenize(): exact = equal token sequences; phrase = bidword tokens contiguous in the
//     query; broad = every bidword token in the query (set containment);
//   - negative-exact excludes the offer when the query equals it; negative-phrase when the query
//     contains it contiguously;
//   - filters: offer online; its customer present and online; bidword online with bid >= 1;
//     region in offer.regions when set AND in customer.regions when set; category equal or below
//     on a "/" boundary;
//   - score = score(bid, qualityToBp(quality), matchType); one hit per offer with its best bidword
//     (ties: exact > phrase > broad, then bidword id ascending); order compareRanked;
//   - text expansion only when bidword hits are fewer than k and textExpansion !== false: offers
//     whose title tokens contain every query token, not already matched, passing the filters,
//     priced with the offer's highest online positive bid (ties: lowest bidword id), match 'text'.
// Single-threaded, test-only; loads the whole snapshot into memory (fine for ~100k offers).
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Bidword, Customer, Offer, SnapshotMeta } from '../../core/model.js';
import { tokenize } from '../../core/normalize.js';
import { columnOf } from '../../core/partition.js';
import {
  compareRanked,
  MATCH_TYPE_RANK,
  qualityToBp,
  type RankedMatchType,
  score,
} from '../../core/ranking.js';
import type { SearchHit, SearchRequest } from '../../core/search-contract.js';

interface RefBidword {
  readonly row: Bidword;
  readonly tokens: readonly string[];
  readonly tokenSet: ReadonlySet<string>;
}

interface RefOffer {
  readonly row: Offer;
  readonly qualityBp: number;
  readonly titleTokens: ReadonlySet<string>;
  readonly positives: RefBidword[];
  readonly negatives: RefBidword[];
}

export interface ReferenceSnapshot {
  readonly meta: SnapshotMeta;
  readonly customers: ReadonlyMap<string, Customer>;
  /** Offers in snapshot order. */
  readonly offers: readonly RefOffer[];
}

async function* jsonLines<T>(file: string): AsyncGenerator<T> {
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    yield JSON.parse(line) as T;
  }
}

/** Reads a BP snapshot folder (customers.jsonl, offers.jsonl, bidwords.jsonl, snapshot.json). */
export async function loadReferenceSnapshot(dir: string): Promise<ReferenceSnapshot> {
  const { readFile } = await import('node:fs/promises');
  const meta = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as SnapshotMeta;
  const customers = new Map<string, Customer>();
  for await (const c of jsonLines<Customer>(join(dir, 'customers.jsonl'))) customers.set(c.id, c);
  const byId = new Map<string, RefOffer>();
  for await (const o of jsonLines<Offer>(join(dir, 'offers.jsonl'))) {
    byId.set(o.id, {
      row: o,
      qualityBp: qualityToBp(o.quality),
      titleTokens: new Set(tokenize(o.title)),
      positives: [],
      negatives: [],
    });
  }
  for await (const b of jsonLines<Bidword>(join(dir, 'bidwords.jsonl'))) {
    const offer = byId.get(b.offerId);
    if (offer === undefined) continue;
    const tokens = tokenize(b.keyword);
    const ref: RefBidword = { row: b, tokens, tokenSet: new Set(tokens) };
    if (b.matchType === 'negative-exact' || b.matchType === 'negative-phrase') offer.negatives.push(ref);
    else offer.positives.push(ref);
  }
  return { meta, customers, offers: [...byId.values()] };
}

function sameSequence(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function containsContiguous(query: readonly string[], part: readonly string[]): boolean {
  if (part.length === 0 || part.length > query.length) return false;
  for (let start = 0; start + part.length <= query.length; start++) {
    let ok = true;
    for (let i = 0; i < part.length; i++) {
      if (query[start + i] !== part[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

function matches(b: RefBidword, query: readonly string[], querySet: ReadonlySet<string>): boolean {
  if (b.tokens.length === 0) return false;
  switch (b.row.matchType) {
    case 'exact':
    case 'negative-exact':
      return sameSequence(b.tokens, query);
    case 'phrase':
    case 'negative-phrase':
      return containsContiguous(query, b.tokens);
    case 'broad':
      for (const t of b.tokenSet) if (!querySet.has(t)) return false;
      return true;
    default:
      return false;
  }
}

function bidOf(b: RefBidword): number {
  return b.row.bidMicros ?? 0;
}

function servable(b: RefBidword): boolean {
  return b.row.status === 'online' && bidOf(b) >= 1;
}

function passesFilters(o: RefOffer, customers: ReadonlyMap<string, Customer>, req: SearchRequest): boolean {
  if (o.row.status !== 'online') return false;
  const customer = customers.get(o.row.customerId);
  if (customer === undefined || customer.status !== 'online') return false;
  if (req.region !== undefined) {
    if (o.row.regions !== undefined && !o.row.regions.includes(req.region)) return false;
    if (customer.regions !== undefined && !customer.regions.includes(req.region)) return false;
  }
  if (req.category !== undefined) {
    const c = o.row.category;
    if (c !== req.category && !c.startsWith(`${req.category}/`)) return false;
  }
  return true;
}

function excludedByNegative(o: RefOffer, query: readonly string[], querySet: ReadonlySet<string>): boolean {
  for (const n of o.negatives) if (n.row.status === 'online' && matches(n, query, querySet)) return true;
  return false;
}

function hitOf(o: RefOffer, b: RefBidword, matchType: RankedMatchType): SearchHit {
  const bid = bidOf(b);
  return {
    offerId: o.row.id,
    customerId: o.row.customerId,
    bidwordId: b.row.id,
    keyword: b.row.keyword,
    matchType,
    bidMicros: bid,
    qualityBp: o.qualityBp,
    score: score(bid, o.qualityBp, matchType),
    title: o.row.title,
    category: o.row.category,
    imageUrl: o.row.imageUrl,
    landingUrl: o.row.landingUrl,
  };
}

/** Best of two candidate hits of one offer: score, then exact > phrase > broad, then bidword id. */
function better(a: SearchHit, b: SearchHit): boolean {
  if (a.score !== b.score) return a.score > b.score;
  const ra = MATCH_TYPE_RANK[a.matchType];
  const rb = MATCH_TYPE_RANK[b.matchType];
  if (ra !== rb) return ra < rb;
  return a.bidwordId < b.bidwordId;
}

const partitions = new WeakMap<ReferenceSnapshot, Map<number, RefOffer[][]>>();

/** The offers of one column, partitioned once per column count with core/partition. */
function columnOffers(snap: ReferenceSnapshot, column: number, columns: number): readonly RefOffer[] {
  let byCount = partitions.get(snap);
  if (byCount === undefined) {
    byCount = new Map();
    partitions.set(snap, byCount);
  }
  let split = byCount.get(columns);
  if (split === undefined) {
    split = Array.from({ length: columns }, () => []);
    for (const o of snap.offers) split[columnOf(o.row.id, columns)]!.push(o);
    byCount.set(columns, split);
  }
  return split[column] ?? [];
}

/**
 * The exact answer of one column (or, with `column` undefined, of the whole snapshot as one
 * column) for a request, in order, at most k hits.
 */
export function referenceSearch(
  snap: ReferenceSnapshot,
  req: SearchRequest,
  partition?: { column: number; columns: number },
): SearchHit[] {
  const query = tokenize(req.query);
  if (query.length === 0) return [];
  const querySet = new Set(query);
  const offers =
    partition === undefined ? snap.offers : columnOffers(snap, partition.column, partition.columns);

  const bidwordHits: SearchHit[] = [];
  const matched = new Set<string>();
  for (const o of offers) {
    let best: SearchHit | undefined;
    for (const b of o.positives) {
      if (!servable(b) || !matches(b, query, querySet)) continue;
      const hit = hitOf(o, b, b.row.matchType as RankedMatchType);
      if (best === undefined || better(hit, best)) best = hit;
    }
    if (best === undefined) continue;
    if (!passesFilters(o, snap.customers, req) || excludedByNegative(o, query, querySet)) continue;
    bidwordHits.push(best);
    matched.add(o.row.id);
  }
  bidwordHits.sort(compareRanked);
  if (bidwordHits.length >= req.k || req.textExpansion === false) return bidwordHits.slice(0, req.k);

  const textHits: SearchHit[] = [];
  for (const o of offers) {
    if (matched.has(o.row.id)) continue;
    let all = true;
    for (const t of querySet) {
      if (!o.titleTokens.has(t)) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    if (!passesFilters(o, snap.customers, req) || excludedByNegative(o, query, querySet)) continue;
    let top: RefBidword | undefined;
    for (const b of o.positives) {
      if (!servable(b)) continue;
      if (top === undefined || bidOf(b) > bidOf(top) || (bidOf(b) === bidOf(top) && b.row.id < top.row.id)) {
        top = b;
      }
    }
    if (top === undefined) continue;
    textHits.push(hitOf(o, top, 'text'));
  }
  textHits.sort(compareRanked);
  return [...bidwordHits, ...textHits.slice(0, req.k - bidwordHits.length)].sort(compareRanked);
}

/** Answers of every column, index = column. */
export function referenceSearchColumns(
  snap: ReferenceSnapshot,
  req: SearchRequest,
  columns: number,
): SearchHit[][] {
  const out: SearchHit[][] = [];
  for (let column = 0; column < columns; column++) out.push(referenceSearch(snap, req, { column, columns }));
  return out;
}

/** The merger's view without CDistinct: every column's hits merged by compareRanked, top k. */
export function mergeRanked(perColumn: readonly (readonly SearchHit[])[], k: number): SearchHit[] {
  return perColumn.flat().sort(compareRanked).slice(0, k);
}
