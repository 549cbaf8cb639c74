// The data structure of one column index: the three tables (customers, offers, bidwords) and the
// lookup structures retrieval needs, with the insert/remove primitives that keep them consistent.
// The loader, createColumnIndex and apply-change.ts mutate it only through these primitives;
// search.ts only reads it (plus per-query scratch stamps on offer records).
//
// Concurrency model: single-threaded and synchronous; no method yields, so a search never sees a
// half-applied change.
//
// Lookup structures (all keyed by normalized token strings, see docs/index-format.md):
//   exact:  Map<"t1 t2 ...", bidwords>              one lookup with the whole query
//   phrase: Map<"t1 t2 ...", bidwords>              one lookup per query n-gram up to maxPhraseLen
//   broad:  Map<sorted unique tokens joined, bidwords>  one lookup per subset of the query's unique
//           tokens, up to maxBroadLen tokens
// Every exact/phrase/broad list is kept in descending order of bid x the offer's quality (its
// score before the list's match weight: only attached bidwords are listed), so a search can stop
// reading a list at the first bidword that scores below the current top k: every later one scores
// no more. An offer whose quality changes has its bidwords moved (putOffer).
//   broadByFirst: Map<first sorted token, bidwords>  exact fallback for queries with so many tokens
//           that subsets would cost too much; built on first use, then maintained
//   title:  flexsearch Index over normalized titles (numeric slot ids), for text expansion
import { Index as FlexIndex } from 'flexsearch';
import {
  type Bidword,
  type Customer,
  type MatchType,
  type Offer,
  offlineForBudget,
} from '../../../core/model.js';
import { normalize } from '../../../core/normalize.js';
import { columnOf } from '../../../core/partition.js';
import { qualityToBp } from '../../../core/ranking.js';
import { CategoryTable } from './categories.js';

/**
 * One customer id's state. The record of an id is never replaced, only updated in place, and it
 * outlives the customer (`present` false after a delete, or before the customer first arrives):
 * offers hold their customer's record (OfferRec.customer), so a search reads it without a map
 * lookup per offer (a profile at peak put those lookups at 12% of a searcher's CPU).
 */
export interface CustomerRec {
  /** The customer's row; undefined while it is absent and has never been present. */
  row: Customer | undefined;
  /** In the column's customer table now (IndexState.customers holds exactly these). */
  present: boolean;
  online: boolean;
  /** Offline because billing found its budget spent: its ads are matched aside (search.ts). */
  forBudget: boolean;
}

/** A customer record while its customer is present: its row is known. */
export type PresentCustomerRec = CustomerRec & { row: Customer };

/**
 * A held bidword (positive or negative). Every held bidword is online (offline ones are dropped),
 * so the entity is its fields plus status "online" (bidwordRow rebuilds it).
 */
export interface BidwordRec {
  readonly id: string;
  readonly offerId: string;
  readonly keyword: string;
  readonly matchType: MatchType;
  /** 0 for negative keywords. */
  readonly bidMicros: number;
  /** normalize(keyword). */
  readonly norm: string;
  /** Token count of norm (0 = never matches). */
  readonly length: number;
  /** Map key: norm for exact/phrase/negatives, sorted unique tokens for broad. */
  readonly key: string;
  readonly negative: boolean;
  /** The offer it is attached to; null while pending. */
  offer: OfferRec | null;
}

/** The Bidword entity of a held bidword. */
export function bidwordRow(rec: BidwordRec): Bidword {
  const row: Bidword = {
    id: rec.id,
    offerId: rec.offerId,
    keyword: rec.keyword,
    matchType: rec.matchType,
    status: 'online',
  };
  if (!rec.negative) row.bidMicros = rec.bidMicros;
  return row;
}

export interface OfferRec {
  row: Offer;
  /** The record of row.customerId (IndexState.customerRecord), present or not. */
  customer: CustomerRec;
  /** Numeric id in the flexsearch title index and in `slots`. */
  readonly slot: number;
  qualityBp: number;
  /** String(qualityBp), kept with it (search.ts writes it twice per hit). */
  qualityText: string;
  /** normalize(row.title), padded with one space on each side for whole-token `includes`. */
  paddedTitle: string;
  /** Positive and negative bidwords, in insertion order. */
  bidwords: BidwordRec[];
  /** Count of negative bidwords in `bidwords` (0 lets search skip the negative check). */
  negatives: number;
  /** Its highest online positive bidword (text expansion), null: none, undefined: not computed. */
  topBid: BidwordRec | null | undefined;
  /**
   * The offer's fields of a serialized SearchHit (search.ts writeHitJson), built on first use and
   * dropped whenever the row is replaced: `{"offerId":..,"customerId":..,`, `,"title":..`,
   * `,"category":..` and `,"imageUrl":..,"landingUrl":..}`.
   */
  jsonHead: string | undefined;
  jsonTitle: string | undefined;
  jsonCategory: string | undefined;
  jsonTail: string | undefined;
  /** ` <offerId> <customerId>\t`: the end of a hit line's ranking keys (core/hit-lines.ts). */
  linesKey: string | undefined;
  // Per-query scratch (search.ts): which query last looked at this offer and what it found.
  stamp: number;
  /** -1 excluded by filters or negatives; >= 0 index of its candidate in the query's list. */
  slotInQuery: number;
}

/** Flexsearch indexes the normalized title as is: split on spaces, no further encoding. */
function createTitleIndex(): FlexIndex {
  return new FlexIndex({
    tokenize: 'strict',
    resolution: 1,
    fastupdate: true,
    encode: (text: string) => text.split(' ').filter((t) => t !== ''),
  });
}

function pushTo(map: Map<string, BidwordRec[]>, key: string, rec: BidwordRec): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rec]);
  else list.push(rec);
}

function removeFrom(map: Map<string, BidwordRec[]>, key: string, rec: BidwordRec): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(rec);
  if (i < 0) return;
  if (list.length === 1) {
    map.delete(key);
    return;
  }
  list[i] = list[list.length - 1]!;
  list.pop();
}

/**
 * A listed bidword's rank: bid x its offer's quality (bp), its score before the match weight. An
 * integer below 2^53 (bids are safe integers in micros well under 10^11, quality at most 10^4).
 */
export function listRank(bw: BidwordRec): number {
  return bw.bidMicros * (bw.offer === null ? 0 : bw.offer.qualityBp);
}

/** Rank descending: the order of every retrieval list, so a search can stop early (search.ts). */
const byRankDesc = (a: BidwordRec, b: BidwordRec): number => listRank(b) - listRank(a);

/** Inserts keeping the list in rank-descending order (after equal ranks). */
function insertSorted(map: Map<string, BidwordRec[]>, key: string, rec: BidwordRec): void {
  const list = map.get(key);
  if (list === undefined) {
    map.set(key, [rec]);
    return;
  }
  const rank = listRank(rec);
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (listRank(list[mid]!) >= rank) lo = mid + 1;
    else hi = mid;
  }
  if (lo === list.length) list.push(rec);
  else list.splice(lo, 0, rec);
}

/** Removes keeping the order. */
function removeSorted(map: Map<string, BidwordRec[]>, key: string, rec: BidwordRec): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(rec);
  if (i < 0) return;
  if (list.length === 1) map.delete(key);
  else list.splice(i, 1);
}

/** Counts of keys by token length, to know the longest phrase / broad bidword present. */
class LengthCounts {
  private readonly counts: number[] = [];
  max = 0;
  add(length: number): void {
    this.counts[length] = (this.counts[length] ?? 0) + 1;
    if (length > this.max) this.max = length;
  }
  remove(length: number): void {
    const c = (this.counts[length] ?? 0) - 1;
    this.counts[length] = c;
    if (c <= 0 && length === this.max) {
      let m = length - 1;
      while (m > 0 && (this.counts[m] ?? 0) <= 0) m--;
      this.max = m;
    }
  }
}

/** The broad-match key of a normalized keyword: its unique tokens, sorted (code-unit order), joined. */
export function broadKey(norm: string): string {
  const space = norm.indexOf(' ');
  if (space < 0) return norm;
  if (norm.indexOf(' ', space + 1) < 0) {
    const a = norm.slice(0, space);
    const b = norm.slice(space + 1);
    return a < b ? norm : a === b ? a : `${b} ${a}`;
  }
  return [...new Set(norm.split(' '))].sort().join(' ');
}

export class IndexState {
  /** The customers present, by id (records also kept in customerRecords). */
  readonly customers = new Map<string, PresentCustomerRec>();
  /** Every customer record ever referenced, by id, present or not (see CustomerRec). */
  private readonly customerRecords = new Map<string, CustomerRec>();
  readonly offers = new Map<string, OfferRec>();
  /** Offer records by slot (undefined once deleted). */
  readonly slots: (OfferRec | undefined)[] = [];
  /** Every bidword held (attached or pending) by id. */
  readonly bidwordsById = new Map<string, BidwordRec>();
  /** Bidwords whose offer is absent, by offer id. */
  readonly pending = new Map<string, BidwordRec[]>();
  readonly exact = new Map<string, BidwordRec[]>();
  readonly phrase = new Map<string, BidwordRec[]>();
  readonly broad = new Map<string, BidwordRec[]>();
  /** Built by broadFallback() on first use (rare: very long queries), then kept up to date. */
  private broadByFirstMap: Map<string, BidwordRec[]> | null = null;
  readonly phraseLengths = new LengthCounts();
  readonly broadLengths = new LengthCounts();
  readonly title = createTitleIndex();
  /** Per-entity id of the last change message applied ("c:<id>", "o:<id>", "b:<id>"). */
  readonly lastIds = new Map<string, number>();
  positives = 0;
  negativeCount = 0;
  pendingCount = 0;
  /** Search stamp counter (search.ts). */
  stamp = 0;
  /**
   * By offer slot: top bid x qualityBp (the text-expansion score before the match weight), 0 when
   * the offer has no positive bidword or is gone, STALE (-1) when it must be recomputed. Kept in
   * one typed array so text expansion can pass over most candidates without touching their
   * records (search.ts).
   */
  textScores = new Float64Array(1024);
  /** The offers' categories as ids (categories.ts), for the category filter. */
  readonly categories = new CategoryTable();
  /**
   * By offer slot: its category's id in `categories`, so a filtered search decides an offer
   * without loading its row (search.ts). Meaningless at empty slots.
   */
  categoryBySlot = new Uint32Array(1024);
  /** Scratch of text expansion (search.ts): per slot, the mark of the last query that saw it... */
  markStamps = new Uint32Array(1024);
  /** ...and how many of that query's other tokens it holds (queries with 255+ tokens skip marks). */
  markCounts = new Uint8Array(1024);
  private mark = 0;
  /**
   * While true (bulk loading), retrieval lists are appended to and sorted once by finishBulk();
   * afterwards every insert keeps them sorted.
   */
  private bulk = true;
  /**
   * While bulk loading, one copy of each repeated string (intern()). A segment's JSON gives every
   * occurrence of a keyword or a category its own copy: on the generated 100k-offer column,
   * 482k keywords held 45k distinct texts, and 100k categories 277, about 12% of the column's
   * heap (BENCHMARKS.md, 2026-12-07). Dropped when bulk loading ends: changes come one at a time.
   */
  private strings: Map<string, string> | null = new Map();

  constructor(
    readonly column: number,
    readonly columns: number,
  ) {}

  private insert(map: Map<string, BidwordRec[]>, rec: BidwordRec): void {
    if (this.bulk) pushTo(map, rec.key, rec);
    else insertSorted(map, rec.key, rec);
  }

  /**
   * Ends bulk loading: sorts every retrieval list by rank, descending, and computes every offer's
   * text score (so no query pays for it later). Call once.
   */
  finishBulk(): void {
    for (const _ of this.finishBulkSteps()) {
      // run to the end
    }
  }

  /** finishBulk() in small steps (one yield per ~1000 lists or offers), for a loader that yields. */
  *finishBulkSteps(): Generator<void> {
    let n = 0;
    for (const map of [this.exact, this.phrase, this.broad]) {
      for (const list of map.values()) {
        if (list.length > 1) list.sort(byRankDesc);
        if (++n % 1000 === 0) yield;
      }
    }
    for (const o of this.slots) {
      if (o !== undefined) {
        let top = 0;
        for (const bw of o.bidwords) if (!bw.negative && bw.bidMicros > top) top = bw.bidMicros;
        this.textScores[o.slot] = top * o.qualityBp;
      }
      if (++n % 1000 === 0) yield;
    }
    this.bulk = false;
    this.strings = null;
  }

  /** `text`, or an equal string seen before while bulk loading (one copy of each kept). */
  intern(text: string): string {
    const strings = this.strings;
    if (strings === null) return text;
    const seen = strings.get(text);
    if (seen !== undefined) return seen;
    strings.set(text, text);
    return text;
  }

  /** A fresh mark for markStamps, sized to the current slots. */
  nextMark(): number {
    if (this.markStamps.length < this.slots.length) {
      const size = Math.max(this.slots.length, this.markStamps.length * 2);
      this.markStamps = new Uint32Array(size);
      this.markCounts = new Uint8Array(size);
      this.mark = 0;
    }
    if (this.mark === 0xffffffff) {
      this.markStamps.fill(0);
      this.mark = 0;
    }
    return ++this.mark;
  }

  /** Broad bidwords by the first token of their key (every key is sorted, so that token is its least). */
  broadFallback(): Map<string, BidwordRec[]> {
    if (this.broadByFirstMap === null) {
      const map = new Map<string, BidwordRec[]>();
      for (const list of this.broad.values()) for (const rec of list) pushTo(map, firstToken(rec.key), rec);
      this.broadByFirstMap = map;
    }
    return this.broadByFirstMap;
  }

  ownsOffer(offerId: string): boolean {
    return this.columns === 1 || columnOf(offerId, this.columns) === this.column;
  }

  putCustomer(row: Customer): void {
    const rec = this.customerRecord(row.id);
    rec.row = row;
    rec.present = true;
    rec.online = row.status === 'online';
    rec.forBudget = offlineForBudget(row);
    this.customers.set(row.id, rec as PresentCustomerRec);
  }

  deleteCustomer(id: string): void {
    const rec = this.customers.get(id);
    if (rec === undefined) return;
    rec.present = false; // search checks it first: online and forBudget no longer count
    this.customers.delete(id);
  }

  /** The record of a customer id, created absent on first reference (offers may come first). */
  customerRecord(id: string): CustomerRec {
    let rec = this.customerRecords.get(id);
    if (rec === undefined) {
      rec = { row: undefined, present: false, online: false, forBudget: false };
      this.customerRecords.set(id, rec);
    }
    return rec;
  }

  /** Inserts or replaces an offer; adopts pending bidwords when it is new. */
  putOffer(row: Offer, titleNorm: string = normalize(row.title)): OfferRec {
    const existing = this.offers.get(row.id);
    if (existing !== undefined) {
      const padded = ` ${titleNorm} `;
      if (padded !== existing.paddedTitle) {
        this.title.remove(existing.slot);
        if (titleNorm !== '') this.title.add(existing.slot, titleNorm);
        existing.paddedTitle = padded;
      }
      if (row.customerId !== existing.row.customerId) existing.customer = this.customerRecord(row.customerId);
      existing.row = row;
      this.categoryBySlot[existing.slot] = this.categories.idOf(row.category);
      existing.jsonHead = undefined;
      existing.jsonTitle = undefined;
      existing.jsonCategory = undefined;
      existing.jsonTail = undefined;
      existing.linesKey = undefined;
      const qualityBp = qualityToBp(row.quality);
      if (qualityBp !== existing.qualityBp) {
        existing.qualityBp = qualityBp;
        existing.qualityText = String(qualityBp);
        // Its bidwords' ranks changed: take them all out of their lists, then put each back in
        // its new place (two of them may share a list, so one at a time would bisect a list
        // holding another that is out of place).
        if (!this.bulk) {
          for (const bw of existing.bidwords) this.relist(bw, 'out');
          for (const bw of existing.bidwords) this.relist(bw, 'in');
        }
      }
      this.textScores[existing.slot] = STALE;
      return existing;
    }
    const qualityBp = qualityToBp(row.quality);
    const rec: OfferRec = {
      row,
      customer: this.customerRecord(row.customerId),
      slot: this.slots.length,
      qualityBp,
      qualityText: String(qualityBp),
      paddedTitle: ` ${titleNorm} `,
      bidwords: [],
      negatives: 0,
      topBid: undefined,
      jsonHead: undefined,
      jsonTitle: undefined,
      jsonCategory: undefined,
      jsonTail: undefined,
      linesKey: undefined,
      stamp: 0,
      slotInQuery: -1,
    };
    this.slots.push(rec);
    if (rec.slot >= this.textScores.length) {
      const grown = new Float64Array(this.textScores.length * 2);
      grown.set(this.textScores);
      this.textScores = grown;
      const categories = new Uint32Array(grown.length);
      categories.set(this.categoryBySlot);
      this.categoryBySlot = categories;
    }
    this.textScores[rec.slot] = STALE;
    this.categoryBySlot[rec.slot] = this.categories.idOf(row.category);
    this.offers.set(row.id, rec);
    if (titleNorm !== '') this.title.add(rec.slot, titleNorm);
    const waiting = this.pending.get(row.id);
    if (waiting !== undefined) {
      this.pending.delete(row.id);
      this.pendingCount -= waiting.length;
      for (const bw of waiting) this.attach(bw, rec);
    }
    return rec;
  }

  /** Removes an offer; its bidwords stay held, pending, in case the offer comes back. */
  deleteOffer(id: string): boolean {
    const rec = this.offers.get(id);
    if (rec === undefined) return false;
    for (const bw of rec.bidwords) {
      this.unindex(bw);
      bw.offer = null;
      pushTo(this.pending, id, bw);
      this.pendingCount++;
    }
    rec.bidwords = [];
    rec.negatives = 0;
    rec.topBid = undefined;
    this.offers.delete(id);
    this.slots[rec.slot] = undefined;
    this.textScores[rec.slot] = 0;
    this.title.remove(rec.slot);
    return true;
  }

  /** Inserts (or replaces) a bidword; offline ones are only removed. Caller checks the column. */
  putBidword(row: Bidword, norm: string = normalize(row.keyword)): void {
    this.deleteBidword(row.id);
    if (row.status !== 'online') return;
    this.insertBidword(
      row.id,
      row.offerId,
      row.keyword,
      row.matchType as MatchType,
      row.bidMicros ?? 0,
      norm,
    );
  }

  /**
   * Inserts an online bidword that is not held yet (the loader's path: a segment holds each
   * bidword once, so there is nothing to replace).
   */
  insertBidword(
    id: string,
    offerId: string,
    keyword: string,
    matchType: MatchType,
    bidMicros: number,
    norm: string,
    /** The offer record when the caller has it (the loader), to skip a lookup. */
    offerRec?: OfferRec,
  ): void {
    const negative = matchType === 'negative-exact' || matchType === 'negative-phrase';
    const text = this.intern(keyword);
    const normText = norm === keyword ? text : this.intern(norm);
    const rec: BidwordRec = {
      id,
      offerId,
      keyword: text,
      matchType: MATCH_TYPE_CONSTANTS[matchType] ?? matchType,
      bidMicros,
      norm: normText,
      length: normText === '' ? 0 : countTokens(normText),
      key: matchType === 'broad' ? this.internKey(normText) : normText,
      negative,
      offer: null,
    };
    this.bidwordsById.set(id, rec);
    const offer = offerRec ?? this.offers.get(offerId);
    if (offer === undefined) {
      pushTo(this.pending, offerId, rec);
      this.pendingCount++;
    } else {
      this.attach(rec, offer);
    }
  }

  /** The broad key of `norm`, interned while bulk loading when it is a new string. */
  private internKey(norm: string): string {
    const key = broadKey(norm);
    return key === norm ? norm : this.intern(key);
  }

  /** Removes a bidword wherever it is held. Returns whether it was held. */
  deleteBidword(id: string): boolean {
    const rec = this.bidwordsById.get(id);
    if (rec === undefined) return false;
    this.bidwordsById.delete(id);
    const offer = rec.offer;
    if (offer === null) {
      const list = this.pending.get(rec.offerId);
      if (list !== undefined) {
        const i = list.indexOf(rec);
        if (i >= 0) {
          list.splice(i, 1);
          this.pendingCount--;
        }
        if (list.length === 0) this.pending.delete(rec.offerId);
      }
      return true;
    }
    this.unindex(rec);
    const i = offer.bidwords.indexOf(rec);
    if (i >= 0) offer.bidwords.splice(i, 1);
    offer.topBid = undefined;
    this.textScores[offer.slot] = STALE;
    rec.offer = null;
    return true;
  }

  private attach(rec: BidwordRec, offer: OfferRec): void {
    rec.offer = offer;
    offer.bidwords.push(rec);
    offer.topBid = undefined;
    this.textScores[offer.slot] = STALE;
    if (rec.negative) {
      offer.negatives++;
      this.negativeCount++;
      return;
    }
    this.positives++;
    if (rec.length === 0) return; // normalizes to nothing: never matches
    switch (rec.matchType) {
      case 'exact':
        this.insert(this.exact, rec);
        break;
      case 'phrase':
        this.insert(this.phrase, rec);
        this.phraseLengths.add(rec.length);
        break;
      case 'broad': {
        this.insert(this.broad, rec);
        if (this.broadByFirstMap !== null) pushTo(this.broadByFirstMap, firstToken(rec.key), rec);
        this.broadLengths.add(rec.key === rec.norm ? rec.length : countTokens(rec.key));
        break;
      }
    }
  }

  /** Takes an attached bidword out of its retrieval list, or puts it back where its rank says. */
  private relist(rec: BidwordRec, step: 'out' | 'in'): void {
    if (rec.negative || rec.length === 0) return;
    const map =
      rec.matchType === 'exact' ? this.exact : rec.matchType === 'phrase' ? this.phrase : this.broad;
    if (step === 'out') removeSorted(map, rec.key, rec);
    else insertSorted(map, rec.key, rec);
  }

  /** Takes an attached bidword out of the lookup maps and the offer's counters. */
  private unindex(rec: BidwordRec): void {
    const offer = rec.offer;
    if (rec.negative) {
      if (offer !== null) offer.negatives--;
      this.negativeCount--;
      return;
    }
    this.positives--;
    if (rec.length === 0) return;
    switch (rec.matchType) {
      case 'exact':
        removeSorted(this.exact, rec.key, rec);
        break;
      case 'phrase':
        removeSorted(this.phrase, rec.key, rec);
        this.phraseLengths.remove(rec.length);
        break;
      case 'broad': {
        removeSorted(this.broad, rec.key, rec);
        if (this.broadByFirstMap !== null) removeFrom(this.broadByFirstMap, firstToken(rec.key), rec);
        this.broadLengths.remove(rec.key === rec.norm ? rec.length : countTokens(rec.key));
        break;
      }
    }
  }
}

/** textScores marker: recompute from the offer record. */
export const STALE = -1;

function firstToken(key: string): string {
  const space = key.indexOf(' ');
  return space < 0 ? key : key.slice(0, space);
}

/** Match types as shared constants, so parsed segment rows do not keep a string each. */
const MATCH_TYPE_CONSTANTS: Readonly<Record<string, MatchType>> = {
  exact: 'exact',
  phrase: 'phrase',
  broad: 'broad',
  'negative-exact': 'negative-exact',
  'negative-phrase': 'negative-phrase',
};

function countTokens(norm: string): number {
  let n = 1;
  for (let i = 0; i < norm.length; i++) if (norm.charCodeAt(i) === 32) n++;
  return n;
}
