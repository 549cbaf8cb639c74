// The data structure of one column index: the three tables (customers, offers, bidwords) and the
// lookup structures retrieval needs, with the insert/remove primitives that keep them consistent.
// The loader, createColumnIndex and apply-change.ts mutate it only through these primitives;
// search.ts only reads it (plus per-query scratch stamps on offer records).
//
// Concurrency model: single-threaded and synchronous; no method yields, so a search never sees a
// half-applied change.
//
// The bidwords live outside the V8 heap (bidword-table.ts: typed arrays addressed by handle), and
// so do the retrieval lists of their handles (list-arena.ts), so that the scavenger, which reads
// every old-generation page header, has a small heap to walk. Offers and customers stay records.
//
// Lookup structures (all keyed by normalized token strings, see docs/index-format.md; each value
// is a list id in `lists`):
//   exact:  Map<"t1 t2 ...", list>              one lookup with the whole query
//   phrase: Map<"t1 t2 ...", list>              one lookup per query n-gram up to maxPhraseLen
//   broad:  Map<sorted unique tokens joined, list>  one lookup per subset of the query's unique
//           tokens, up to maxBroadLen tokens
// Every exact/phrase/broad list is kept in descending order of bid x the offer's quality (its
// score before the list's match weight: only attached bidwords are listed), so a search can stop
// reading a list at the first bidword that scores below the current top k: every later one scores
// no more. An offer whose quality changes has its bidwords moved (putOffer).
//   broadByFirst: Map<first sorted token, handles>  exact fallback for queries with so many tokens
//           that subsets would cost too much; built on first use, then maintained
//   titles: per normalized title token, the slots of the offers holding it (title-postings.ts),
//           for text expansion
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
import {
  BidwordTable,
  BROAD_CODE,
  EXACT_CODE,
  matchCodeOf,
  NEGATIVE_CODE,
  PENDING,
  PHRASE_CODE,
} from './bidword-table.js';
import { CategoryTable } from './categories.js';
import { ListArena } from './list-arena.js';
import { TitlePostings } from './title-postings.js';

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

/** OfferRec.topBid before it is computed. */
export const TOP_BID_UNKNOWN = -2;
/** OfferRec.topBid of an offer without a positive bidword. */
export const NO_TOP_BID = -1;

export interface OfferRec {
  row: Offer;
  /** The record of row.customerId (IndexState.customerRecord), present or not. */
  customer: CustomerRec;
  /** Its index in `slots`, in the title postings and in the per-slot typed arrays. */
  readonly slot: number;
  qualityBp: number;
  /** String(qualityBp), kept with it (search.ts writes it twice per hit). */
  qualityText: string;
  /** normalize(row.title), padded with one space on each side for whole-token `includes`. */
  paddedTitle: string;
  /** Its first bidword (positive or negative) in the chain through the rows' next field (BidwordTable.nextOf), or -1. */
  firstBidword: number;
  /** Count of negative bidwords in its chain (0 lets search skip the negative check). */
  negatives: number;
  /** The handle of its highest online positive bidword (text expansion), NO_TOP_BID or TOP_BID_UNKNOWN. */
  topBid: number;
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

function pushTo(map: Map<string, number[]>, key: string, h: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [h]);
  else list.push(h);
}

function removeFrom(map: Map<string, number[]>, key: string, h: number): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(h);
  if (i < 0) return;
  if (list.length === 1) {
    map.delete(key);
    return;
  }
  list[i] = list[list.length - 1]!;
  list.pop();
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
  /** Every bidword held (attached or pending), by handle; found by id with bidwords.find(). */
  readonly bidwords = new BidwordTable();
  /** Bidwords whose offer is absent, by offer id... */
  readonly pending = new Map<string, number[]>();
  /** ...and the offer id of each of them, by handle. */
  readonly pendingOfferIds = new Map<number, string>();
  /** The retrieval lists of exact, phrase and broad (their handles, in rank order). */
  readonly lists = new ListArena();
  readonly exact = new Map<string, number>();
  readonly phrase = new Map<string, number>();
  readonly broad = new Map<string, number>();
  /** Built by broadFallback() on first use (rare: very long queries), then kept up to date. */
  private broadByFirstMap: Map<string, number[]> | null = null;
  readonly phraseLengths = new LengthCounts();
  readonly broadLengths = new LengthCounts();
  readonly titles = new TitlePostings();
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
   * While bulk loading, one copy of each repeated offer string (intern()): a segment's JSON gives
   * every occurrence of a category or a customer id its own copy. Dropped when bulk loading ends:
   * changes come one at a time. (The bidwords' texts are pooled by their table.)
   */
  private strings: Map<string, string> | null = new Map();

  constructor(
    readonly column: number,
    readonly columns: number,
  ) {}

  /**
   * A listed bidword's rank: bid x its offer's quality (bp), its score before the match weight. An
   * integer below 2^53 (bids are safe integers in micros well under 10^11, quality at most 10^4).
   * 0 for a pending bidword.
   */
  listRank(h: number): number {
    const slot = this.bidwords.offerSlotOf(h);
    return slot < 0 ? 0 : this.bidwords.bidOf(h) * this.bidwords.qualityOf(h);
  }

  /** Every retrieval list of `map` as [key, handles in list order] (tests, tools). */
  *listEntries(map: Map<string, number>): Generator<[string, number[]]> {
    for (const [key, l] of map) yield [key, [...this.lists.view(l)]];
  }

  /** The handles of an offer's bidwords (dump, tests). */
  offerBidwords(o: OfferRec): number[] {
    const out: number[] = [];
    const t = this.bidwords;
    for (let h = o.firstBidword; h >= 0; h = t.nextOf(h)) out.push(h);
    return out;
  }

  /** The Bidword entity of a held bidword. */
  bidwordRow(h: number): Bidword {
    const t = this.bidwords;
    const slot = t.offerSlotOf(h);
    const row: Bidword = {
      id: t.id(h),
      offerId: slot >= 0 ? this.slots[slot]!.row.id : this.pendingOfferIds.get(h)!,
      keyword: t.keyword(h),
      matchType: t.matchType(h),
      status: 'online',
    };
    if (!t.negative(h)) row.bidMicros = t.bidOf(h);
    return row;
  }

  private mapOf(code: number): Map<string, number> {
    return code === EXACT_CODE ? this.exact : code === PHRASE_CODE ? this.phrase : this.broad;
  }

  /** Lists `h` under `key`: appended while bulk loading, else at its place by rank. */
  private list(map: Map<string, number>, key: string, h: number): void {
    let l = map.get(key);
    if (l === undefined) {
      l = this.lists.create();
      map.set(key, l);
    }
    if (this.bulk) {
      this.lists.push(l, h);
      return;
    }
    const rank = this.listRank(h);
    let lo = 0;
    let hi = this.lists.length[l]!;
    const s = this.lists.start[l]!;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.listRank(this.lists.items[s + mid]!) >= rank) lo = mid + 1;
      else hi = mid;
    }
    this.lists.insert(l, lo, h);
  }

  /** Takes `h` out of the list under `key`, keeping the order; an emptied list is dropped. */
  private unlist(map: Map<string, number>, key: string, h: number): void {
    const l = map.get(key);
    if (l !== undefined && this.lists.remove(l, h) === 'dropped') map.delete(key);
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
    const byRankDesc = (a: number, b: number): number => this.listRank(b) - this.listRank(a);
    this.lists.compact();
    this.titles.compact();
    this.bidwords.trim();
    for (const map of [this.exact, this.phrase, this.broad]) {
      for (const l of map.values()) {
        if (this.lists.length[l]! > 1) this.lists.view(l).sort(byRankDesc);
        if (++n % 1000 === 0) yield;
      }
    }
    const t = this.bidwords;
    for (const o of this.slots) {
      if (o !== undefined) {
        let top = 0;
        for (let h = o.firstBidword; h >= 0; h = t.nextOf(h)) {
          if (t.codeOf(h) < NEGATIVE_CODE && t.bidOf(h) > top) top = t.bidOf(h);
        }
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
  broadFallback(): Map<string, number[]> {
    if (this.broadByFirstMap === null) {
      const map = new Map<string, number[]>();
      for (const [key, l] of this.broad) for (const h of this.lists.view(l)) pushTo(map, firstToken(key), h);
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
        this.titles.remove(existing.slot, existing.paddedTitle);
        this.titles.add(existing.slot, titleNorm);
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
        // Its bidwords' ranks change: take them all out of their lists (found by the old rank's
        // order), then put each back in its new place (two of them may share a list, so one at a
        // time would bisect a list holding another that is out of place).
        const chain = this.offerBidwords(existing);
        if (!this.bulk) for (const h of chain) this.relist(h, 'out');
        existing.qualityBp = qualityBp;
        existing.qualityText = String(qualityBp);
        for (const h of chain) this.bidwords.setQuality(h, qualityBp);
        if (!this.bulk) for (const h of chain) this.relist(h, 'in');
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
      firstBidword: -1,
      negatives: 0,
      topBid: TOP_BID_UNKNOWN,
      jsonHead: undefined,
      jsonTitle: undefined,
      jsonCategory: undefined,
      jsonTail: undefined,
      linesKey: undefined,
      stamp: 0,
      slotInQuery: -1,
    };
    this.slots.push(rec);
    if (rec.slot >= this.textScores.length) this.growSlots(this.textScores.length * 2);
    this.textScores[rec.slot] = STALE;
    this.categoryBySlot[rec.slot] = this.categories.idOf(row.category);
    this.offers.set(row.id, rec);
    this.titles.add(rec.slot, titleNorm);
    const waiting = this.pending.get(row.id);
    if (waiting !== undefined) {
      this.pending.delete(row.id);
      this.pendingCount -= waiting.length;
      for (const h of waiting) {
        this.pendingOfferIds.delete(h);
        this.attach(h, rec);
      }
    }
    return rec;
  }

  private growSlots(size: number): void {
    const scores = new Float64Array(size);
    scores.set(this.textScores);
    this.textScores = scores;
    const categories = new Uint32Array(size);
    categories.set(this.categoryBySlot);
    this.categoryBySlot = categories;
  }

  /** Removes an offer; its bidwords stay held, pending, in case the offer comes back. */
  deleteOffer(id: string): boolean {
    const rec = this.offers.get(id);
    if (rec === undefined) return false;
    const t = this.bidwords;
    for (const h of this.offerBidwords(rec)) {
      this.unindex(h, rec);
      t.setOfferSlot(h, PENDING);
      t.setNext(h, -1);
      pushTo(this.pending, id, h);
      this.pendingOfferIds.set(h, id);
      this.pendingCount++;
    }
    rec.firstBidword = -1;
    rec.negatives = 0;
    rec.topBid = TOP_BID_UNKNOWN;
    this.offers.delete(id);
    this.slots[rec.slot] = undefined;
    this.textScores[rec.slot] = 0;
    this.titles.remove(rec.slot, rec.paddedTitle);
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

  /** Whether a bidword id is held (attached or pending). */
  holdsBidword(id: string): boolean {
    return this.bidwords.find(id) >= 0;
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
    const code = matchCodeOf(matchType);
    const h = this.bidwords.add(
      id,
      code,
      code >= NEGATIVE_CODE ? 0 : bidMicros,
      norm === '' ? 0 : countTokens(norm),
      keyword,
      norm,
      code === BROAD_CODE ? broadKey(norm) : norm,
    );
    const offer = offerRec ?? this.offers.get(offerId);
    if (offer === undefined) {
      pushTo(this.pending, offerId, h);
      this.pendingOfferIds.set(h, offerId);
      this.pendingCount++;
    } else {
      this.attach(h, offer);
    }
  }

  /** Removes a bidword wherever it is held. Returns whether it was held. */
  deleteBidword(id: string): boolean {
    const t = this.bidwords;
    const h = t.find(id);
    if (h < 0) return false;
    const slot = t.offerSlotOf(h);
    if (slot === PENDING) {
      const offerId = this.pendingOfferIds.get(h)!;
      this.pendingOfferIds.delete(h);
      const list = this.pending.get(offerId);
      if (list !== undefined) {
        const i = list.indexOf(h);
        if (i >= 0) {
          list.splice(i, 1);
          this.pendingCount--;
        }
        if (list.length === 0) this.pending.delete(offerId);
      }
    } else {
      const offer = this.slots[slot]!;
      this.unindex(h, offer);
      // Unlink it from the offer's chain.
      if (offer.firstBidword === h) offer.firstBidword = t.nextOf(h);
      else {
        let p = offer.firstBidword;
        while (t.nextOf(p) !== h) p = t.nextOf(p);
        t.setNext(p, t.nextOf(h));
      }
      offer.topBid = TOP_BID_UNKNOWN;
      this.textScores[offer.slot] = STALE;
    }
    t.remove(h);
    return true;
  }

  private attach(h: number, offer: OfferRec): void {
    const t = this.bidwords;
    t.setOfferSlot(h, offer.slot);
    t.setQuality(h, offer.qualityBp);
    t.setNext(h, offer.firstBidword);
    offer.firstBidword = h;
    offer.topBid = TOP_BID_UNKNOWN;
    this.textScores[offer.slot] = STALE;
    const code = t.codeOf(h);
    if (code >= NEGATIVE_CODE) {
      offer.negatives++;
      this.negativeCount++;
      return;
    }
    this.positives++;
    const length = t.tokenCountOf(h);
    if (length === 0) return; // normalizes to nothing: never matches
    const key = t.key(h);
    this.list(this.mapOf(code), key, h);
    if (code === PHRASE_CODE) this.phraseLengths.add(length);
    else if (code === BROAD_CODE) {
      if (this.broadByFirstMap !== null) pushTo(this.broadByFirstMap, firstToken(key), h);
      this.broadLengths.add(t.keyIsNorm(h) ? length : countTokens(key));
    }
  }

  /** Takes an attached bidword out of its retrieval list, or puts it back where its rank says. */
  private relist(h: number, step: 'out' | 'in'): void {
    const t = this.bidwords;
    const code = t.codeOf(h);
    if (code >= NEGATIVE_CODE || t.tokenCountOf(h) === 0) return;
    const map = this.mapOf(code);
    if (step === 'out') this.unlist(map, t.key(h), h);
    else this.list(map, t.key(h), h);
  }

  /** Takes an attached bidword out of the lookup maps and its offer's counters. */
  private unindex(h: number, offer: OfferRec): void {
    const t = this.bidwords;
    const code = t.codeOf(h);
    if (code >= NEGATIVE_CODE) {
      offer.negatives--;
      this.negativeCount--;
      return;
    }
    this.positives--;
    const length = t.tokenCountOf(h);
    if (length === 0) return;
    const key = t.key(h);
    this.unlist(this.mapOf(code), key, h);
    if (code === PHRASE_CODE) this.phraseLengths.remove(length);
    else if (code === BROAD_CODE) {
      if (this.broadByFirstMap !== null) removeFrom(this.broadByFirstMap, firstToken(key), h);
      this.broadLengths.remove(t.keyIsNorm(h) ? length : countTokens(key));
    }
  }
}

/** textScores marker: recompute from the offer record. */
export const STALE = -1;

function firstToken(key: string): string {
  const space = key.indexOf(' ');
  return space < 0 ? key : key.slice(0, space);
}

function countTokens(norm: string): number {
  let n = 1;
  for (let i = 0; i < norm.length; i++) if (norm.charCodeAt(i) === 32) n++;
  return n;
}
