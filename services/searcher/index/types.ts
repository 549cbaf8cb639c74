// The types of the column index: the ColumnIndex interface the searcher service uses, its loading
// options, statistics and dump. column-index.ts is the folder's entry point and says what they mean.
import type { Logger } from '../../../core/logger.js';
import type { Bidword, ChangeMessage, Customer, Offer } from '../../../core/model.js';
import type { LostAd, SearchHit, SearchRequest } from '../../../core/search-contract.js';

export interface ColumnIndexStats {
  /** Customers held (every column holds every customer). */
  customers: number;
  /** Offers of this column, online or not. */
  offers: number;
  /** Positive bidwords attached to present offers. */
  bidwords: number;
  /** Negative keywords attached to present offers. */
  negatives: number;
  /** Bidwords (positive or negative) waiting for their offer. */
  pendingBidwords: number;
  /** Process heap used when stats() was called (whole process, not only this index). */
  heapBytes: number;
}

/** One offer with all of its bidwords (positive and negative), as dump() returns it. */
export interface DumpedOffer {
  offer: Offer;
  /** Sorted by bidword id. */
  bidwords: Bidword[];
}

/**
 * The canonical content of a column index: every table sorted by id, entities exactly as the
 * snapshot or the last change carried them. Two indexes with equal dumps answer every query the same.
 */
export interface IndexDump {
  customers: Customer[];
  offers: DumpedOffer[];
  /** Bidwords whose offer is not present, sorted by id. */
  pendingBidwords: Bidword[];
}

export interface ColumnIndex {
  /** Index version id (core/index-manifest.ts) this index was loaded from. */
  readonly version: string;
  readonly column: number;
  /** Number of columns of the version (needed to tell which change messages belong here). */
  readonly columns: number;
  /** Last change-message id the loaded version already contains. */
  readonly watermark: number;
  /**
   * Highest change-message id passed to apply() so far (taken, or ignored because it belongs to
   * another column: either way the index reflects it); equals watermark right after loading.
   */
  readonly appliedId: number;
  /** Top k hits of this column for the request, in compareRanked order. Synchronous. */
  search(req: SearchRequest): SearchHit[];
  /** search() and the ads lost to budget (core/search-contract.ts LostAd). */
  searchWithLost(req: SearchRequest): { hits: SearchHit[]; lostToBudget: LostAd[] };
  /**
   * search() as a JSON array text, byte for byte JSON.stringify(search(req)), and its length;
   * `lostJson`: JSON.stringify of searchWithLost's lostToBudget, '' when empty.
   */
  searchJson(req: SearchRequest): { json: string; count: number; lostJson: string };
  /** search() in the lines form (core/hit-lines.ts) without its envelope line, its length, lostJson. */
  searchLines(req: SearchRequest): { lines: string; count: number; lostJson: string };
  /**
   * Applies one change message. Idempotent. Returns true when the message was taken (it belongs to
   * this column and is newer than what the index holds for its entity), false when ignored.
   */
  apply(msg: ChangeMessage): boolean;
  stats(): ColumnIndexStats;
  /** Canonical sorted content, for equality tests against a reference. */
  dump(): IndexDump;
}

export interface LoadOptions {
  logger?: Logger;
  /**
   * Verify the segment's size and SHA-256 against the manifest while loading (default true).
   * A mismatch throws IM_ERR_INDEX_CORRUPT and nothing is returned.
   */
  verify?: boolean;
  /**
   * Give the event loop a turn after this much synchronous work (default 5 ms), so a process
   * serving queries while it loads stays responsive.
   */
  yieldEveryMs?: number;
}

/** Entities to build an index from directly (tests, tools): the builder's rules apply. */
export interface ColumnIndexInput {
  version: string;
  column: number;
  columns: number;
  watermark: number;
  customers: Iterable<Customer>;
  /** Offers of other columns are ignored. */
  offers: Iterable<Offer>;
  /** Bidwords of other columns' offers are ignored; offline ones are dropped. */
  bidwords: Iterable<Bidword>;
}
