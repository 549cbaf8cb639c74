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
//   broad:  Map<sorted unique tokens joined, bidwords>  one lookup per subset of the query's tokens
//           that occur in some broad bidword (broadVocab), up to maxBroadLen tokens
//   broadByFirst: Map<first sorted token, bidwords>  exact fallback for queries with many tokens
//   title:  flexsearch Index over normalized titles (numeric slot ids), for text expansion
import { Index as FlexIndex } from 'flexsearch';
import type { Bidword, ChangeMessage, Customer, Offer } from '../../../core/model.js';
import { normalize } from '../../../core/normalize.js';
import { columnOf } from '../../../core/partition.js';
import { qualityToBp } from '../../../core/ranking.js';
import type { SearchHit, SearchRequest } from '../../../core/search-contract.js';
import { applyChange } from './apply-change.js';
import type {
  ColumnIndex,
  ColumnIndexInput,
  ColumnIndexStats,
  DumpedOffer,
  IndexDump,
} from './column-index.js';
import { searchIndex } from './search.js';

export interface CustomerRec {
  readonly row: Customer;
  readonly online: boolean;
}

export interface BidwordRec {
  readonly row: Bidword;
  /** normalize(row.keyword). */
  readonly norm: string;
  /** Token count of norm (0 = never matches). */
  readonly length: number;
  /** Map key: norm for exact/phrase/negatives, sorted unique tokens for broad. */
  readonly key: string;
  readonly negative: boolean;
  /** The offer it is attached to; null while pending. */
  offer: OfferRec | null;
}

export interface OfferRec {
  row: Offer;
  /** Numeric id in the flexsearch title index and in `slots`. */
  readonly slot: number;
  qualityBp: number;
  /** normalize(row.title), padded with one space on each side for whole-token `includes`. */
  paddedTitle: string;
  /** Positive and negative bidwords, in insertion order. */
  bidwords: BidwordRec[];
  /** Count of negative bidwords in `bidwords` (0 lets search skip the negative check). */
  negatives: number;
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

export function broadKey(norm: string): string {
  const tokens = norm.split(' ');
  if (tokens.length === 1) return norm;
  return [...new Set(tokens)].sort().join(' ');
}

export class IndexState {
  readonly customers = new Map<string, CustomerRec>();
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
  readonly broadByFirst = new Map<string, BidwordRec[]>();
  /** Token -> number of broad keys (with multiplicity) containing it. */
  readonly broadVocab = new Map<string, number>();
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

  constructor(
    readonly column: number,
    readonly columns: number,
  ) {}

  ownsOffer(offerId: string): boolean {
    return this.columns === 1 || columnOf(offerId, this.columns) === this.column;
  }

  putCustomer(row: Customer): void {
    this.customers.set(row.id, { row, online: row.status === 'online' });
  }

  deleteCustomer(id: string): void {
    this.customers.delete(id);
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
      existing.row = row;
      existing.qualityBp = qualityToBp(row.quality);
      return existing;
    }
    const rec: OfferRec = {
      row,
      slot: this.slots.length,
      qualityBp: qualityToBp(row.quality),
      paddedTitle: ` ${titleNorm} `,
      bidwords: [],
      negatives: 0,
      stamp: 0,
      slotInQuery: -1,
    };
    this.slots.push(rec);
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
    this.offers.delete(id);
    this.slots[rec.slot] = undefined;
    this.title.remove(rec.slot);
    return true;
  }

  /** Inserts (or replaces) a bidword; offline ones are only removed. Caller checks the column. */
  putBidword(row: Bidword, norm: string = normalize(row.keyword)): void {
    this.deleteBidword(row.id);
    if (row.status !== 'online') return;
    const negative = row.matchType === 'negative-exact' || row.matchType === 'negative-phrase';
    const length = norm === '' ? 0 : countTokens(norm);
    const rec: BidwordRec = {
      row,
      norm,
      length,
      key: row.matchType === 'broad' ? broadKey(norm) : norm,
      negative,
      offer: null,
    };
    this.bidwordsById.set(row.id, rec);
    const offer = this.offers.get(row.offerId);
    if (offer === undefined) {
      pushTo(this.pending, row.offerId, rec);
      this.pendingCount++;
    } else {
      this.attach(rec, offer);
    }
  }

  /** Removes a bidword wherever it is held. Returns whether it was held. */
  deleteBidword(id: string): boolean {
    const rec = this.bidwordsById.get(id);
    if (rec === undefined) return false;
    this.bidwordsById.delete(id);
    const offer = rec.offer;
    if (offer === null) {
      const list = this.pending.get(rec.row.offerId);
      if (list !== undefined) {
        const i = list.indexOf(rec);
        if (i >= 0) {
          list.splice(i, 1);
          this.pendingCount--;
        }
        if (list.length === 0) this.pending.delete(rec.row.offerId);
      }
      return true;
    }
    this.unindex(rec);
    const i = offer.bidwords.indexOf(rec);
    if (i >= 0) offer.bidwords.splice(i, 1);
    rec.offer = null;
    return true;
  }

  private attach(rec: BidwordRec, offer: OfferRec): void {
    rec.offer = offer;
    offer.bidwords.push(rec);
    if (rec.negative) {
      offer.negatives++;
      this.negativeCount++;
      return;
    }
    this.positives++;
    if (rec.length === 0) return; // normalizes to nothing: never matches
    switch (rec.row.matchType) {
      case 'exact':
        pushTo(this.exact, rec.key, rec);
        break;
      case 'phrase':
        pushTo(this.phrase, rec.key, rec);
        this.phraseLengths.add(rec.length);
        break;
      case 'broad': {
        pushTo(this.broad, rec.key, rec);
        const tokens = rec.key.split(' ');
        pushTo(this.broadByFirst, tokens[0]!, rec);
        for (const t of tokens) this.broadVocab.set(t, (this.broadVocab.get(t) ?? 0) + 1);
        this.broadLengths.add(tokens.length);
        break;
      }
    }
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
    switch (rec.row.matchType) {
      case 'exact':
        removeFrom(this.exact, rec.key, rec);
        break;
      case 'phrase':
        removeFrom(this.phrase, rec.key, rec);
        this.phraseLengths.remove(rec.length);
        break;
      case 'broad': {
        removeFrom(this.broad, rec.key, rec);
        const tokens = rec.key.split(' ');
        removeFrom(this.broadByFirst, tokens[0]!, rec);
        for (const t of tokens) {
          const n = (this.broadVocab.get(t) ?? 0) - 1;
          if (n <= 0) this.broadVocab.delete(t);
          else this.broadVocab.set(t, n);
        }
        this.broadLengths.remove(tokens.length);
        break;
      }
    }
  }
}

function countTokens(norm: string): number {
  let n = 1;
  for (let i = 0; i < norm.length; i++) if (norm.charCodeAt(i) === 32) n++;
  return n;
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The ColumnIndex over an IndexState. */
export class ColumnIndexImpl implements ColumnIndex {
  appliedId: number;

  constructor(
    readonly state: IndexState,
    readonly version: string,
    readonly watermark: number,
  ) {
    this.appliedId = watermark;
  }

  get column(): number {
    return this.state.column;
  }

  get columns(): number {
    return this.state.columns;
  }

  search(req: SearchRequest): SearchHit[] {
    return searchIndex(this.state, req);
  }

  apply(msg: ChangeMessage): boolean {
    if (msg.id <= this.watermark) return false;
    // Every message past the watermark counts as applied, taken or not: one that belongs to
    // another column is a no-op here, and the index does reflect it.
    if (msg.id > this.appliedId) this.appliedId = msg.id;
    return applyChange(this.state, msg);
  }

  stats(): ColumnIndexStats {
    const s = this.state;
    return {
      customers: s.customers.size,
      offers: s.offers.size,
      bidwords: s.positives,
      negatives: s.negativeCount,
      pendingBidwords: s.pendingCount,
      heapBytes: process.memoryUsage().heapUsed,
    };
  }

  dump(): IndexDump {
    const s = this.state;
    const customers = [...s.customers.values()].map((c) => c.row).sort(byId);
    const offers: DumpedOffer[] = [...s.offers.values()]
      .map((o) => ({ offer: o.row, bidwords: o.bidwords.map((b) => b.row).sort(byId) }))
      .sort((a, b) => byId(a.offer, b.offer));
    const pendingBidwords: Bidword[] = [];
    for (const list of s.pending.values()) for (const b of list) pendingBidwords.push(b.row);
    pendingBidwords.sort(byId);
    return { customers, offers, pendingBidwords };
  }
}

/** Builds an index directly from entities, with the builder's rules (tests and tools). */
export function createColumnIndex(input: ColumnIndexInput): ColumnIndex {
  const state = new IndexState(input.column, input.columns);
  for (const c of input.customers) state.putCustomer(c);
  for (const o of input.offers) if (state.ownsOffer(o.id)) state.putOffer(o);
  for (const b of input.bidwords)
    if (b.status === 'online' && state.ownsOffer(b.offerId)) state.putBidword(b);
  return new ColumnIndexImpl(state, input.version, input.watermark);
}
