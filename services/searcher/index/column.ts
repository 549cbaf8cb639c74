// The front door of a column index: ColumnIndexImpl wraps an IndexState (the data structure,
// index-state.ts) with retrieval (search.ts), change application (apply-change.ts), statistics and
// the dump. createColumnIndex builds one from entities; load-segment.ts builds one from a segment.
import type { Bidword, ChangeMessage } from '../../../core/model.js';
import type { LostAd, SearchHit, SearchRequest } from '../../../core/search-contract.js';
import { applyChange } from './apply-change.js';
import { IndexState } from './index-state.js';
import { searchIndex, searchIndexJson, searchIndexLines, searchIndexWithLost } from './search.js';
import type { ColumnIndex, ColumnIndexInput, ColumnIndexStats, DumpedOffer, IndexDump } from './types.js';

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

  searchWithLost(req: SearchRequest): { hits: SearchHit[]; lostToBudget: LostAd[] } {
    return searchIndexWithLost(this.state, req);
  }

  searchJson(req: SearchRequest): { json: string; count: number; lostJson: string } {
    return searchIndexJson(this.state, req);
  }

  searchLines(req: SearchRequest): { lines: string; count: number; lostJson: string } {
    return searchIndexLines(this.state, req);
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
      .map((o) => ({
        offer: o.row,
        bidwords: s
          .offerBidwords(o)
          .map((h) => s.bidwordRow(h))
          .sort(byId),
      }))
      .sort((a, b) => byId(a.offer, b.offer));
    const pendingBidwords: Bidword[] = [];
    for (const list of s.pending.values()) for (const h of list) pendingBidwords.push(s.bidwordRow(h));
    pendingBidwords.sort(byId);
    return { customers, offers, pendingBidwords };
  }
}

/** Builds an index directly from entities, with the builder's rules (tests and tools). */
export function createColumnIndex(input: ColumnIndexInput): ColumnIndex {
  const state = new IndexState(input.column, input.columns);
  for (const c of input.customers) state.putCustomer(c);
  for (const o of input.offers) if (state.ownsOffer(o.id)) state.putOffer(o);
  for (const b of input.bidwords) {
    if (b.status === 'online' && state.ownsOffer(b.offerId)) state.putBidword(b);
  }
  state.finishBulk();
  return new ColumnIndexImpl(state, input.version, input.watermark);
}
