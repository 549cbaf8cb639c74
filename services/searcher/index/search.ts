// One search over a column index: bidword retrieval (match.ts), filters, negatives, best bidword
// per offer, optional title-text expansion, top k in compareRanked order.
//
// Concurrency model: synchronous, single-threaded. It writes only per-query scratch fields on
// offer records (a stamp that changes every query), so no per-query Map of offers is allocated.

import { tokenize } from '../../../core/normalize.js';
import {
  compareRanked,
  MATCH_TYPE_RANK,
  MATCH_WEIGHT_PCT,
  type RankedMatchType,
} from '../../../core/ranking.js';
import {
  HIT_FIELDS,
  type HitField,
  type LostAd,
  type SearchHit,
  type SearchRequest,
} from '../../../core/search-contract.js';
import { MATCH_TYPE_OF_CODE, NEGATIVE_CODE } from './bidword-table.js';
import { type IndexState, NO_TOP_BID, type OfferRec, STALE, TOP_BID_UNKNOWN } from './index-state.js';
import { excludedByNegatives, type Visitor, visitBroad, visitExact, visitPhrase } from './match.js';

/** MATCH_WEIGHT_PCT by bidword match code (bidword-table.ts), read without a keyed lookup. */
const WEIGHT_OF_CODE: readonly number[] = MATCH_TYPE_OF_CODE.slice(0, NEGATIVE_CODE).map(
  (mt) => MATCH_WEIGHT_PCT[mt as RankedMatchType],
);
/** Text expansion marks other tokens' postings when the rarest token has more candidates. */
const MARK_OTHERS_ABOVE = 1000;
const EXCLUDED = -1;
const ADMISSIBLE = -2;
/** Passes every filter but its customer is offline for budget, and is not a lost candidate yet. */
const BUDGET = -3;
/** slotInQuery of the i-th lost candidate is LOST_BASE - i. */
const LOST_BASE = -4;

class Candidate {
  constructor(
    readonly offer: OfferRec,
    /** The bidword's handle (IndexState.bidwords). */
    public bw: number,
    public matchType: RankedMatchType,
    public score: number,
  ) {}
  get qualityBp(): number {
    return this.offer.qualityBp;
  }
  get offerId(): string {
    return this.offer.row.id;
  }
}

/** Does `a` beat `b` as an offer's representative bidword? Score, exact > phrase > broad, bidword id. */
function better(s: IndexState, score: number, mt: RankedMatchType, h: number, c: Candidate): boolean {
  if (score !== c.score) return score > c.score;
  const ra = MATCH_TYPE_RANK[mt];
  const rb = MATCH_TYPE_RANK[c.matchType];
  if (ra !== rb) return ra < rb;
  return s.bidwords.compareIds(h, c.bw) < 0;
}

class Query implements Visitor {
  readonly stamp: number;
  readonly norm: string;
  readonly padded: string;
  readonly candidates: Candidate[] = [];
  /**
   * Offers of customers offline for budget that pass every other filter, each with its best
   * bidword: the ads lost to budget, before the top-k cut (lostToBudget()). Empty on almost every
   * query; never counted in the threshold.
   */
  readonly lost: Candidate[] = [];
  /** Min-heap of the first score of each candidate, at most k of them (see `threshold`). */
  private readonly firstScores: number[] = [];
  /**
   * The k-th largest first score of k distinct candidates, or -1. A candidate's score only grows
   * after its first, so at least k offers score this much already: a lower bound of the final
   * k-th best score, which makes it safe for cutting retrieval lists short (match.ts).
   */
  threshold = -1;
  /** With a category filter: per category id, 1 when the request admits it (categories.ts). */
  private readonly categoryAdmits: Uint8Array | undefined;

  constructor(
    readonly state: IndexState,
    readonly req: SearchRequest,
    readonly tokens: readonly string[],
  ) {
    this.stamp = ++state.stamp;
    this.categoryAdmits = req.category === undefined ? undefined : state.categories.admits(req.category);
    this.norm = tokens.join(' ');
    this.padded = ` ${this.norm} `;
  }

  /**
   * Filters and negatives, decided once per offer per query. True for offers of customers offline
   * for budget too (slotInQuery BUDGET or a lost slot): callers that want hits only check for it.
   */
  admissible(o: OfferRec): boolean {
    if (o.stamp !== this.stamp) {
      o.stamp = this.stamp;
      o.slotInQuery = this.passes(o);
    }
    return o.slotInQuery !== EXCLUDED;
  }

  /** ADMISSIBLE, EXCLUDED, or BUDGET (every filter passed but the customer's status, for budget). */
  private passes(o: OfferRec): number {
    // The category first: two typed-array reads, and most candidates of a filtered query fail it.
    const categoryAdmits = this.categoryAdmits;
    if (categoryAdmits !== undefined && categoryAdmits[this.state.categoryBySlot[o.slot]!] !== 1)
      return EXCLUDED;
    const row = o.row;
    if (row.status !== 'online') return EXCLUDED;
    const customer = o.customer;
    if (!customer.present) return EXCLUDED;
    if (!customer.online && !customer.forBudget) return EXCLUDED;
    if (!this.filtersPass(o, customer.row!.regions)) return EXCLUDED;
    return customer.online ? ADMISSIBLE : BUDGET;
  }

  private filtersPass(o: OfferRec, customerRegions: readonly string[] | undefined): boolean {
    const row = o.row;
    const region = this.req.region;
    if (region !== undefined) {
      if (row.regions !== undefined && !row.regions.includes(region)) return false;
      if (customerRegions !== undefined && !customerRegions.includes(region)) return false;
    }
    if (o.negatives > 0 && excludedByNegatives(this.state, o, this.norm, this.padded)) return false;
    return true;
  }

  private recordFirst(score: number): void {
    const h = this.firstScores;
    const k = this.req.k;
    if (h.length < k) {
      // sift up
      let i = h.length;
      h.push(score);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (h[parent]! <= score) break;
        h[i] = h[parent]!;
        i = parent;
      }
      h[i] = score;
    } else if (score > h[0]!) {
      // replace the minimum, sift down
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= k) break;
        const r = l + 1;
        const c = r < k && h[r]! < h[l]! ? r : l;
        if (h[c]! >= score) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = score;
    } else {
      return;
    }
    if (h.length === k) this.threshold = h[0]!;
  }

  visit(bw: number): void {
    const t = this.state.bidwords;
    const slot0 = t.offerSlotOf(bw);
    if (slot0 < 0) return;
    const bid = t.bidOf(bw);
    if (bid < 1) return;
    const o = this.state.slots[slot0]!;
    const code = t.codeOf(bw);
    const mt = MATCH_TYPE_OF_CODE[code] as RankedMatchType;
    const score = bid * o.qualityBp * WEIGHT_OF_CODE[code]!;
    // Below the threshold (a lower bound of the final k-th best score) this bidword can neither
    // bring its offer into the top k nor be the best bidword of an offer that gets there, so the
    // filters (a customer lookup, regions, negatives) are skipped. The threshold is -1 until k
    // candidates exist, so the candidate count and text expansion are not affected.
    if (score < this.threshold || !this.admissible(o)) return;
    const slot = o.slotInQuery;
    if (slot === ADMISSIBLE) {
      o.slotInQuery = this.candidates.length;
      this.candidates.push(new Candidate(o, bw, mt, score));
      this.recordFirst(score);
      return;
    }
    let c: Candidate;
    if (slot >= 0) c = this.candidates[slot]!;
    else if (slot === BUDGET) {
      o.slotInQuery = LOST_BASE - this.lost.length;
      this.lost.push(new Candidate(o, bw, mt, score));
      return;
    } else c = this.lost[LOST_BASE - slot]!;
    if (better(this.state, score, mt, bw, c)) {
      c.bw = bw;
      c.matchType = mt;
      c.score = score;
    }
  }

  /**
   * The best `m` title-text expansion hits, in compareRanked order (rules in column-index.ts).
   * Candidates come from the title postings; an offer's text score is known before the costly checks
   * (its cached top bid x quality), so once m hits are held, offers that could not beat the
   * worst of them are passed over without checking filters or titles.
   */
  textCandidates(m: number): Candidate[] {
    const s = this.state;
    if (m <= 0 || s.slots.length === 0) return [];
    const unique: string[] = [];
    for (const t of this.tokens) if (!unique.includes(t)) unique.push(t);
    // The rarest token's postings are the candidates; every other token is verified exactly.
    const postings: Int32Array[] = [];
    for (const t of unique) {
      const ids = s.titles.postings(t);
      if (ids === undefined) return [];
      postings.push(ids);
    }
    let rarest = 0;
    for (let i = 1; i < postings.length; i++) if (postings[i]!.length < postings[rarest]!.length) rarest = i;
    const smallest = postings[rarest]!;
    const others = unique.filter((_, i) => i !== rarest).map((t) => ` ${t} `);
    // With many candidates, mark the slots holding every other token first (one pass over their
    // postings, typed arrays only), instead of reading candidates' titles one by one.
    const marked = others.length > 0 && others.length < 255 && smallest.length > MARK_OTHERS_ABOVE;
    const required = others.length;
    let mark = 0;
    if (marked) {
      mark = s.nextMark();
      const stamps = s.markStamps;
      const counts = s.markCounts;
      let j = 0;
      for (let i = 0; i < postings.length; i++) {
        if (i === rarest) continue;
        for (const slot of postings[i]!) {
          if (j === 0) {
            stamps[slot] = mark;
            counts[slot] = 1;
          } else if (stamps[slot] === mark && counts[slot] === j) {
            counts[slot] = j + 1;
          }
        }
        j++;
      }
    }
    const best = new BoundedTop<Candidate>(m);
    const weight = MATCH_WEIGHT_PCT.text;
    const scores = s.textScores;
    const categoryAdmits = this.categoryAdmits;
    const categoryBySlot = s.categoryBySlot;
    for (const slot of smallest) {
      // Most candidates are decided by one read of a typed array: their score cannot beat the
      // worst of the m kept (ties go on to the full comparison).
      let base = scores[slot]!;
      if (base === STALE) base = refreshTextScore(s, slot);
      if (base === 0) continue;
      const score = base * weight;
      if (score < best.worstScore()) continue;
      // Filtered by category: decided here, without loading the offer (passes() would exclude it).
      if (categoryAdmits !== undefined && categoryAdmits[categoryBySlot[slot]!] !== 1) continue;
      if (marked && (s.markStamps[slot] !== mark || s.markCounts[slot] !== required)) continue;
      const o = s.slots[slot];
      if (o === undefined) continue;
      if (o.stamp === this.stamp && o.slotInQuery !== ADMISSIBLE) continue; // excluded or bidword hit
      if (!best.wouldTake(score, o.qualityBp, o.row.id)) continue;
      if (!marked) {
        let all = true;
        for (const p of others) {
          if (!o.paddedTitle.includes(p)) {
            all = false;
            break;
          }
        }
        if (!all) continue;
      }
      if (!this.admissible(o) || o.slotInQuery !== ADMISSIBLE) continue;
      best.add(new Candidate(o, topBid(s, o), 'text', score));
    }
    return best.sorted();
  }
}

/** Recomputes textScores[slot] from the offer record. */
function refreshTextScore(s: IndexState, slot: number): number {
  const o = s.slots[slot];
  const top = o === undefined ? NO_TOP_BID : topBid(s, o);
  const base = top === NO_TOP_BID ? 0 : s.bidwords.bidOf(top) * o!.qualityBp;
  s.textScores[slot] = base;
  return base;
}

/**
 * The handle of the offer's highest online positive bid (ties: lowest bidword id), or NO_TOP_BID;
 * cached on the offer.
 */
function topBid(s: IndexState, o: OfferRec): number {
  if (o.topBid !== TOP_BID_UNKNOWN) return o.topBid;
  const t = s.bidwords;
  let top = NO_TOP_BID;
  for (let h = o.firstBidword; h >= 0; h = t.nextOf(h)) {
    const bid = t.bidOf(h);
    if (t.negative(h) || bid < 1) continue;
    if (top === NO_TOP_BID || bid > t.bidOf(top) || (bid === t.bidOf(top) && t.compareIds(h, top) < 0))
      top = h;
  }
  o.topBid = top;
  return top;
}

type Ranked = { score: number; qualityBp: number; offerId: string };

/** The best `k` items seen, by compareRanked: a heap with the worst kept item on top. */
class BoundedTop<T extends Ranked> {
  private readonly heap: T[] = [];
  constructor(private readonly k: number) {}

  /** The score of the worst kept item once k are kept, else -1 (anything is taken). */
  worstScore(): number {
    return this.heap.length < this.k ? -1 : this.heap[0]!.score;
  }

  /** Would an item with these ranking fields be kept (now)? */
  wouldTake(score: number, qualityBp: number, offerId: string): boolean {
    if (this.heap.length < this.k) return true;
    return compareRanked({ score, qualityBp, offerId }, this.heap[0]!) < 0;
  }

  add(item: T): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      let i = h.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (compareRanked(h[parent]!, item) >= 0) break; // the parent ranks after it: stays above
        h[i] = h[parent]!;
        i = parent;
      }
      h[i] = item;
      return;
    }
    if (compareRanked(item, h[0]!) >= 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const worse = r < h.length && compareRanked(h[r]!, h[l]!) > 0 ? r : l;
      if (compareRanked(h[worse]!, item) <= 0) break;
      h[i] = h[worse]!;
      i = worse;
    }
    h[i] = item;
  }

  sorted(): T[] {
    return this.heap.sort(compareRanked);
  }
}

/** The first k items of `items` in compareRanked order (a bounded heap when there are many). */
export function topK<T extends Ranked>(items: T[], k: number): T[] {
  if (items.length <= k) return items.sort(compareRanked);
  const best = new BoundedTop<T>(k);
  for (const it of items) best.add(it);
  return best.sorted();
}

function toHit(s: IndexState, c: Candidate): SearchHit {
  const row = c.offer.row;
  const t = s.bidwords;
  const bw = c.bw;
  return {
    offerId: row.id,
    customerId: row.customerId,
    bidwordId: t.id(bw),
    keyword: t.keyword(bw),
    matchType: c.matchType,
    bidMicros: t.bidOf(bw),
    qualityBp: c.offer.qualityBp,
    score: c.score,
    title: row.title,
    category: row.category,
    imageUrl: row.imageUrl,
    landingUrl: row.landingUrl,
  };
}

/**
 * Text that JSON.stringify writes as is between quotes: no quote, backslash, control character or
 * surrogate (a lone one would be escaped; paired ones are left to JSON.stringify too).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes
const PLAIN_TEXT = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** How a request's `fields` shape each hit's JSON: every field, all but category, or a subset. */
type Projection = 'all' | 'no-category' | readonly HitField[];

function projectionOf(fields: readonly HitField[] | undefined): Projection {
  if (fields === undefined || fields.length === HIT_FIELDS.length) return 'all';
  if (fields.length === HIT_FIELDS.length - 1 && !fields.includes('category')) return 'no-category';
  return fields;
}

/** The most parts writeHitJson and a hit line's keys write per hit (the size of `parts` arrays). */
const PARTS_PER_LINE = 32;

/**
 * Writes one hit's JSON into `parts` from index `at` on and returns the index after it: exactly
 * JSON.stringify of toHit(c) limited to the projected fields (SearchHit's field order). The two
 * common projections are written from fragments cached on the offer record (ids match core/model's
 * Id pattern, nothing to escape; titles and URLs go through JSON.stringify once per offer
 * version) and the bidword's fields part by part. Other subsets take the slow path. The caller
 * joins `parts` once, so the answer is one flat string (not a rope of concatenations, which cost
 * about 20 us per answer to flatten when written to the socket), and sizes `parts` beforehand
 * (PARTS_PER_LINE per hit), so it is not copied as it grows.
 */
function writeHitJson(
  s: IndexState,
  c: Candidate,
  projection: Projection,
  parts: string[],
  at: number,
  scoreText: string,
): number {
  if (projection !== 'all' && projection !== 'no-category') {
    const hit = toHit(s, c) as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const f of HIT_FIELDS) if (projection.includes(f)) out[f] = hit[f];
    parts[at++] = JSON.stringify(out);
    return at;
  }
  const o = c.offer;
  if (o.jsonHead === undefined) cacheOfferFragments(o);
  const t = s.bidwords;
  const bw = c.bw;
  // The bidword's fields are written part by part, not cached: a cache on every bidword ever
  // answered grew the heap, and with it every minor GC, by up to about 140 bytes a bidword.
  parts[at++] = o.jsonHead!;
  parts[at++] = '"bidwordId":"';
  parts[at++] = t.id(bw);
  const keyword = t.keyword(bw);
  if (PLAIN_TEXT.test(keyword)) {
    parts[at++] = '","keyword":"';
    parts[at++] = keyword;
    parts[at++] = '","matchType":"';
  } else {
    parts[at++] = '","keyword":';
    parts[at++] = JSON.stringify(keyword);
    parts[at++] = ',"matchType":"';
  }
  parts[at++] = c.matchType;
  parts[at++] = '","bidMicros":';
  parts[at++] = String(t.bidOf(bw));
  parts[at++] = ',"qualityBp":';
  parts[at++] = o.qualityText;
  parts[at++] = ',"score":';
  parts[at++] = scoreText;
  parts[at++] = o.jsonTitle!;
  if (projection === 'all') parts[at++] = o.jsonCategory!;
  parts[at++] = o.jsonTail!;
  return at;
}

/** Builds the offer's cached fragments (dropped by IndexState.putOffer whenever the row changes). */
function cacheOfferFragments(o: OfferRec): void {
  const row = o.row;
  // join() makes flat strings; template literals would make ropes that every answer re-walks.
  o.jsonHead = ['{"offerId":"', row.id, '","customerId":"', row.customerId, '",'].join('');
  o.jsonTitle = [',"title":', JSON.stringify(row.title)].join('');
  o.jsonCategory = [',"category":', JSON.stringify(row.category)].join('');
  o.jsonTail = [
    ',"imageUrl":',
    JSON.stringify(row.imageUrl),
    ',"landingUrl":',
    JSON.stringify(row.landingUrl),
    '}',
  ].join('');
  o.linesKey = [' ', row.id, ' ', row.customerId, '\t'].join('');
}

export function searchIndex(state: IndexState, req: SearchRequest): SearchHit[] {
  return rankedCandidates(state, req).ranked.map((c) => toHit(state, c));
}

/** searchIndex and the ads lost to budget (core/search-contract.ts LostAd), compareRanked order. */
export function searchIndexWithLost(
  state: IndexState,
  req: SearchRequest,
): { hits: SearchHit[]; lostToBudget: LostAd[] } {
  const { ranked, lost } = rankedCandidates(state, req);
  return { hits: ranked.map((c) => toHit(state, c)), lostToBudget: lost.map((c) => toLostAd(state, c)) };
}

/**
 * The hits of searchIndex as a JSON array text, limited to `req.fields` (the searcher's JSON
 * form: no object per hit), and the ads lost to budget as a JSON array text ('' when none).
 */
export function searchIndexJson(
  state: IndexState,
  req: SearchRequest,
): { json: string; count: number; lostJson: string } {
  const { ranked, lost } = rankedCandidates(state, req);
  const lostJson = lost.length === 0 ? '' : JSON.stringify(lost.map((c) => toLostAd(state, c)));
  if (ranked.length === 0) return { json: '[]', count: 0, lostJson };
  const projection = projectionOf(req.fields);
  const parts: string[] = new Array(2 + ranked.length * PARTS_PER_LINE);
  let at = 0;
  parts[at++] = '[';
  for (let i = 0; i < ranked.length; i++) {
    if (i > 0) parts[at++] = ',';
    const c = ranked[i]!;
    at = writeHitJson(state, c, projection, parts, at, String(c.score));
  }
  parts[at++] = ']';
  parts.length = at;
  return { json: parts.join(''), count: ranked.length, lostJson };
}

/**
 * The hits of searchIndex in the lines form (core/hit-lines.ts, without the envelope line): one
 * line per hit, its ranking keys, a tab, its JSON limited to `req.fields`; and the ads lost to
 * budget as a JSON array text ('' when none) for the envelope.
 */
export function searchIndexLines(
  state: IndexState,
  req: SearchRequest,
): { lines: string; count: number; lostJson: string } {
  const { ranked, lost } = rankedCandidates(state, req);
  const projection = projectionOf(req.fields);
  const parts: string[] = new Array(ranked.length * PARTS_PER_LINE);
  let at = 0;
  for (const c of ranked) {
    const o = c.offer;
    if (o.jsonHead === undefined) cacheOfferFragments(o);
    const scoreText = String(c.score);
    // The ranking keys: score, quality, match type, offer id, customer id (the last two cached).
    parts[at++] = scoreText;
    parts[at++] = ' ';
    parts[at++] = o.qualityText;
    parts[at++] = ' ';
    parts[at++] = c.matchType;
    parts[at++] = o.linesKey!;
    at = writeHitJson(state, c, projection, parts, at, scoreText);
    parts[at++] = '\n';
  }
  parts.length = at;
  const lostJson = lost.length === 0 ? '' : JSON.stringify(lost.map((c) => toLostAd(state, c)));
  return { lines: parts.join(''), count: ranked.length, lostJson };
}

function toLostAd(s: IndexState, c: Candidate): LostAd {
  return {
    offerId: c.offer.row.id,
    customerId: c.offer.row.customerId,
    bidwordId: s.bidwords.id(c.bw),
    matchType: c.matchType as LostAd['matchType'],
    qualityBp: c.offer.qualityBp,
    score: c.score,
  };
}

/**
 * The lost candidates that would be among the top k bidword hits had their customers been
 * online: text hits never displace bidword hits, so they are ranked against `ranked`'s bidword
 * hits only (every bidword hit when there were fewer than k, else the top k, which is all a
 * top-k cut of the union can keep of them).
 */
function lostToBudget(ranked: readonly Candidate[], lost: readonly Candidate[], k: number): Candidate[] {
  const union: Candidate[] = [...lost];
  for (const c of ranked) if (c.matchType !== 'text') union.push(c);
  const kept = topK(union, k);
  return kept.filter((c) => lost.includes(c));
}

function rankedCandidates(state: IndexState, req: SearchRequest): { ranked: Candidate[]; lost: Candidate[] } {
  const tokens = tokenize(req.query);
  if (tokens.length === 0 || req.k < 1) return { ranked: [], lost: [] };
  const q = new Query(state, req, tokens);
  visitExact(state, q.norm, q);
  visitPhrase(state, tokens, q);
  visitBroad(state, tokens, q);
  const fromBidwords = q.candidates;
  let ranked: Candidate[];
  if (fromBidwords.length < req.k && req.textExpansion !== false) {
    // Expansion fills the free places only: every bidword hit stays in the answer.
    const text = q.textCandidates(req.k - fromBidwords.length);
    ranked = fromBidwords.concat(text).sort(compareRanked);
  } else {
    ranked = topK(fromBidwords, req.k);
  }
  return { ranked, lost: q.lost.length === 0 ? [] : lostToBudget(ranked, q.lost, req.k) };
}
