// The brute-force reference the searcher is checked against. Written independently of
// services/searcher/index: it imports only the shared semantics (core/normalize, core/ranking,
// core/model, core/partition) and scans every bidword of every offer of a column for every query,
// so any shortcut the real index takes (n-gram maps, subset enumeration, title postings) is checked
// against the plain definitions in DESIGN.md:
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
//     whose title tokens contain every query token, not already matched, passing the filters and
//     the negatives, priced with the offer's highest online positive bid (ties: lowest bidword
//     id), match 'text'; merged with the bidword hits by compareRanked, top k.
// The only speed-ups are representational, never a shortcut past a row: tokens are interned to
// integers (so comparisons are integer compares) and each query gets a membership table; every
// bidword and every title is still looked at for every query. Test-only, single-threaded; holds
// the whole snapshot in memory (fine for ~100k offers).
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
import type { LostAd, SearchHit, SearchRequest } from '../../core/search-contract.js';

const EXACT = 0;
const PHRASE = 1;
const BROAD = 2;
const KIND: Readonly<Record<Bidword['matchType'], number>> = {
  exact: EXACT,
  phrase: PHRASE,
  broad: BROAD,
  'negative-exact': EXACT,
  'negative-phrase': PHRASE,
};

class RefBidword {
  constructor(
    readonly row: Bidword,
    /** EXACT, PHRASE or BROAD (negatives: EXACT or PHRASE). */
    readonly kind: number,
    readonly bid: number,
    readonly online: boolean,
    /** Interned token ids of the normalized keyword. */
    readonly tokens: Int32Array,
  ) {}
}

interface RefOffer {
  readonly row: Offer;
  readonly qualityBp: number;
  /** Interned token ids of the normalized title. */
  readonly titleTokens: Int32Array;
  readonly positives: RefBidword[];
  readonly negatives: RefBidword[];
}

export interface ReferenceSnapshot {
  readonly meta: SnapshotMeta;
  readonly customers: ReadonlyMap<string, Customer>;
  /** Offers in snapshot order. */
  readonly offers: readonly RefOffer[];
  /** token -> id, for interning query tokens. */
  readonly dictionary: ReadonlyMap<string, number>;
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
  const meta = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as SnapshotMeta;
  const dictionary = new Map<string, number>();
  const intern = (text: string) =>
    Int32Array.from(tokenize(text), (t) => {
      let id = dictionary.get(t);
      if (id === undefined) {
        id = dictionary.size;
        dictionary.set(t, id);
      }
      return id;
    });
  const customers = new Map<string, Customer>();
  for await (const c of jsonLines<Customer>(join(dir, 'customers.jsonl'))) customers.set(c.id, c);
  const byId = new Map<string, RefOffer>();
  for await (const o of jsonLines<Offer>(join(dir, 'offers.jsonl'))) {
    byId.set(o.id, {
      row: o,
      qualityBp: qualityToBp(o.quality),
      titleTokens: intern(o.title),
      positives: [],
      negatives: [],
    });
  }
  for await (const b of jsonLines<Bidword>(join(dir, 'bidwords.jsonl'))) {
    const offer = byId.get(b.offerId);
    if (offer === undefined) continue;
    const ref = new RefBidword(
      b,
      KIND[b.matchType]!,
      b.bidMicros ?? 0,
      b.status === 'online',
      intern(b.keyword),
    );
    if (b.matchType === 'negative-exact' || b.matchType === 'negative-phrase') offer.negatives.push(ref);
    else offer.positives.push(ref);
  }
  return { meta, customers, offers: [...byId.values()], dictionary };
}

/** A query as token ids (-1 for a token no row has) plus a membership table over the dictionary. */
interface Query {
  readonly ids: Int32Array;
  readonly present: Uint8Array;
}

function matches(b: RefBidword, q: Query): boolean {
  const t = b.tokens;
  const n = t.length;
  if (n === 0) return false;
  const present = q.present;
  // Every match type needs every bidword token in the query: check that first, for all of them.
  for (let i = 0; i < n; i++) if (present[t[i]!] !== 1) return false;
  if (b.kind === BROAD) return true;
  const ids = q.ids;
  if (b.kind === EXACT) {
    if (ids.length !== n) return false;
    for (let i = 0; i < n; i++) if (ids[i] !== t[i]) return false;
    return true;
  }
  for (let start = 0; start + n <= ids.length; start++) {
    let i = 0;
    while (i < n && ids[start + i] === t[i]) i++;
    if (i === n) return true;
  }
  return false;
}

function isServable(b: RefBidword): boolean {
  return b.online && b.bid >= 1;
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

function excludedByNegative(o: RefOffer, q: Query): boolean {
  for (const n of o.negatives) if (n.online && matches(n, q)) return true;
  return false;
}

function hitOf(o: RefOffer, b: RefBidword, matchType: RankedMatchType): SearchHit {
  return {
    offerId: o.row.id,
    customerId: o.row.customerId,
    bidwordId: b.row.id,
    keyword: b.row.keyword,
    matchType,
    bidMicros: b.bid,
    qualityBp: o.qualityBp,
    score: score(b.bid, o.qualityBp, matchType),
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

/**
 * The offers of one column with their positive bidwords and titles laid out in flat arrays, so a
 * scan of every bidword reads contiguous memory (the scan is the same; only the layout differs).
 */
interface ColumnScan {
  readonly offers: readonly RefOffer[];
  /** Positive bidwords of offer i: positions posStart[i] .. posStart[i+1]-1. */
  readonly posStart: Int32Array;
  readonly bidwords: readonly RefBidword[];
  readonly servable: Uint8Array;
  readonly kind: Uint8Array;
  /** Tokens of bidword j: tokens[tokStart[j] .. tokStart[j+1]-1]. */
  readonly tokStart: Int32Array;
  readonly tokens: Int32Array;
  /** Title tokens of offer i: titles[titleStart[i] .. titleStart[i+1]-1]. */
  readonly titleStart: Int32Array;
  readonly titles: Int32Array;
}

function layout(offers: readonly RefOffer[]): ColumnScan {
  const bidwords = offers.flatMap((o) => o.positives);
  const posStart = new Int32Array(offers.length + 1);
  const titleStart = new Int32Array(offers.length + 1);
  offers.forEach((o, i) => {
    posStart[i + 1] = posStart[i]! + o.positives.length;
    titleStart[i + 1] = titleStart[i]! + o.titleTokens.length;
  });
  const titles = new Int32Array(titleStart[offers.length]!);
  offers.forEach((o, i) => {
    titles.set(o.titleTokens, titleStart[i]!);
  });
  const tokStart = new Int32Array(bidwords.length + 1);
  bidwords.forEach((b, j) => {
    tokStart[j + 1] = tokStart[j]! + b.tokens.length;
  });
  const tokens = new Int32Array(tokStart[bidwords.length]!);
  const servable = new Uint8Array(bidwords.length);
  const kind = new Uint8Array(bidwords.length);
  bidwords.forEach((b, j) => {
    tokens.set(b.tokens, tokStart[j]!);
    servable[j] = isServable(b) ? 1 : 0;
    kind[j] = b.kind;
  });
  return { offers, posStart, bidwords, servable, kind, tokStart, tokens, titleStart, titles };
}

const scans = new WeakMap<ReferenceSnapshot, Map<string, ColumnScan>>();

/** The scan layout of one column (or of the whole snapshot), built once per snapshot and split. */
function columnScan(snap: ReferenceSnapshot, partition?: { column: number; columns: number }): ColumnScan {
  let byKey = scans.get(snap);
  if (byKey === undefined) {
    byKey = new Map();
    scans.set(snap, byKey);
  }
  const key = partition === undefined ? 'all' : `${partition.column}/${partition.columns}`;
  let scan = byKey.get(key);
  if (scan === undefined) {
    const offers =
      partition === undefined
        ? snap.offers
        : snap.offers.filter((o) => columnOf(o.row.id, partition.columns) === partition.column);
    scan = layout(offers);
    byKey.set(key, scan);
  }
  return scan;
}

function queryOf(snap: ReferenceSnapshot, text: string): Query {
  const ids = Int32Array.from(tokenize(text), (t) => snap.dictionary.get(t) ?? -1);
  const present = new Uint8Array(snap.dictionary.size);
  for (const id of ids) if (id >= 0) present[id] = 1;
  return { ids, present };
}

/** matches() over the flat layout: bidword j of the scan against the query. */
function matchesAt(s: ColumnScan, j: number, q: Query): boolean {
  const from = s.tokStart[j]!;
  const n = s.tokStart[j + 1]! - from;
  if (n === 0) return false;
  const t = s.tokens;
  const present = q.present;
  for (let i = 0; i < n; i++) if (present[t[from + i]!] !== 1) return false;
  const kind = s.kind[j];
  if (kind === BROAD) return true;
  const ids = q.ids;
  if (kind === EXACT) {
    if (ids.length !== n) return false;
    for (let i = 0; i < n; i++) if (ids[i] !== t[from + i]) return false;
    return true;
  }
  for (let start = 0; start + n <= ids.length; start++) {
    let i = 0;
    while (i < n && ids[start + i] === t[from + i]) i++;
    if (i === n) return true;
  }
  return false;
}

/**
 * The exact answer of one column (or, with `partition` undefined, of the whole snapshot as one
 * column) for a request, in order, at most k hits.
 */
export function referenceSearch(
  snap: ReferenceSnapshot,
  req: SearchRequest,
  partition?: { column: number; columns: number },
): SearchHit[] {
  const q = queryOf(snap, req.query);
  if (q.ids.length === 0) return [];
  const s = columnScan(snap, partition);

  const bidwordHits: SearchHit[] = [];
  const matched = new Uint8Array(s.offers.length);
  for (let i = 0; i < s.offers.length; i++) {
    let best: SearchHit | undefined;
    for (let j = s.posStart[i]!; j < s.posStart[i + 1]!; j++) {
      if (s.servable[j] !== 1 || !matchesAt(s, j, q)) continue;
      const b = s.bidwords[j]!;
      const hit = hitOf(s.offers[i]!, b, b.row.matchType as RankedMatchType);
      if (best === undefined || better(hit, best)) best = hit;
    }
    if (best === undefined) continue;
    const o = s.offers[i]!;
    if (!passesFilters(o, snap.customers, req) || excludedByNegative(o, q)) continue;
    bidwordHits.push(best);
    matched[i] = 1;
  }
  bidwordHits.sort(compareRanked);
  if (bidwordHits.length >= req.k || req.textExpansion === false) return bidwordHits.slice(0, req.k);

  const textHits: SearchHit[] = [];
  for (let i = 0; i < s.offers.length; i++) {
    if (matched[i] === 1) continue;
    let all = true;
    for (const id of q.ids) {
      let found = false;
      for (let p = s.titleStart[i]!; p < s.titleStart[i + 1]!; p++) {
        if (s.titles[p] === id) {
          found = true;
          break;
        }
      }
      if (!found) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    const o = s.offers[i]!;
    if (!passesFilters(o, snap.customers, req) || excludedByNegative(o, q)) continue;
    let top: RefBidword | undefined;
    for (const b of o.positives) {
      if (!isServable(b)) continue;
      if (top === undefined || b.bid > top.bid || (b.bid === top.bid && b.row.id < top.row.id)) top = b;
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

const budgetOnline = new WeakMap<ReferenceSnapshot, ReferenceSnapshot>();

/**
 * The ads lost to budget of one column (core/search-contract.ts LostAd), from the definition:
 * answer the request again, bidword hits only, with every customer that is offline because
 * billing found its budget spent (status offline, offlineReason budget) online; the lost ads are
 * that answer's hits of those customers, in order.
 */
export function referenceLostToBudget(
  snap: ReferenceSnapshot,
  req: SearchRequest,
  partition?: { column: number; columns: number },
): LostAd[] {
  const forBudget = (c: Customer) => c.status === 'offline' && c.offlineReason === 'budget';
  let online = budgetOnline.get(snap);
  if (online === undefined) {
    const customers = new Map<string, Customer>();
    for (const [id, c] of snap.customers) customers.set(id, forBudget(c) ? { ...c, status: 'online' } : c);
    online = { ...snap, customers };
    budgetOnline.set(snap, online);
  }
  const out: LostAd[] = [];
  for (const h of referenceSearch(online, { ...req, textExpansion: false }, partition)) {
    const c = snap.customers.get(h.customerId);
    if (c === undefined || !forBudget(c)) continue;
    out.push({
      offerId: h.offerId,
      customerId: h.customerId,
      bidwordId: h.bidwordId,
      matchType: h.matchType as LostAd['matchType'],
      qualityBp: h.qualityBp,
      score: h.score,
    });
  }
  return out;
}
