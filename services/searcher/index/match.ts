// Bidword retrieval for one query: enumerates the lookup keys a query can match (the whole query
// for exact, contiguous n-grams for phrase, subsets of its unique tokens for broad) and hands each
// matching bidword to a callback. No scan of the column: the work depends on the query's length
// and the longest bidword present, not on the number of offers.
//
// Concurrency model: pure functions over a read-only IndexState; synchronous.
import { MATCH_WEIGHT_PCT } from '../../../core/ranking.js';
import { BID, NEGATIVE_CODE, NEGATIVE_EXACT_CODE, QUALITY, STRIDE } from './bidword-table.js';
import type { IndexState, OfferRec } from './index-state.js';

/** Receives matching bidwords (handles in IndexState.bidwords); `threshold` lets a list be cut short (see visitList). */
export interface Visitor {
  /**
   * A score that the k-th best hit already reaches: a bidword whose best possible score is below
   * it cannot enter the top k. -1 while there are fewer than k hits.
   */
  readonly threshold: number;
  visit(h: number): void;
}

const EXACT_BOUND = MATCH_WEIGHT_PCT.exact;
const PHRASE_BOUND = MATCH_WEIGHT_PCT.phrase;
const BROAD_BOUND = MATCH_WEIGHT_PCT.broad;

/**
 * Visits a list in its order (rank = bid x the offer's quality, descending: index-state.ts) up to
 * the first bidword whose score, rank x the list's match weight, is below the threshold: every
 * later one scores no more, and the threshold only grows, so visit() would skip them all.
 */
function visitList(s: IndexState, list: number, weight: number, v: Visitor): void {
  const lists = s.lists;
  const start = lists.start[list]!;
  const end = start + lists.length[list]!;
  const items = lists.items;
  const rows = s.bidwords.rows;
  for (let i = start; i < end; i++) {
    const h = items[i]!;
    const r = h * STRIDE;
    // Listed bidwords are attached: QUALITY holds their offer's.
    if (rows[r + BID]! * rows[r + QUALITY]! * weight < v.threshold) return;
    v.visit(h);
  }
}

/**
 * Subset enumeration is used for broad match while it needs at most this many lookups (a query
 * of 16 unique tokens with broad bidwords of up to 3 tokens is 696). Above it, the exact fallback
 * walks the broad bidwords filed under each query token and checks containment: same answer,
 * cost proportional to those lists instead.
 */
export const MAX_BROAD_SUBSET_LOOKUPS = 4096;

/** Exact: the normalized query equals the bidword. */
export function visitExact(s: IndexState, queryNorm: string, v: Visitor): void {
  const list = s.exact.get(queryNorm);
  if (list !== undefined) visitList(s, list, EXACT_BOUND, v);
}

/** Phrase: every contiguous n-gram of the query up to the longest phrase bidword. */
export function visitPhrase(s: IndexState, tokens: readonly string[], v: Visitor): void {
  const maxLen = Math.min(s.phraseLengths.max, tokens.length);
  if (maxLen === 0 || s.phrase.size === 0) return;
  for (let i = 0; i < tokens.length; i++) {
    let key = tokens[i]!;
    const end = Math.min(tokens.length, i + maxLen);
    for (let j = i; j < end; j++) {
      if (j > i) key += ` ${tokens[j]!}`;
      const list = s.phrase.get(key);
      if (list !== undefined) visitList(s, list, PHRASE_BOUND, v);
    }
  }
}

/** Broad: every bidword whose token set is contained in the query's token set. */
export function visitBroad(s: IndexState, tokens: readonly string[], v: Visitor): void {
  if (s.broad.size === 0) return;
  const unique: string[] = [];
  for (const t of tokens) if (!unique.includes(t)) unique.push(t);
  unique.sort(); // keys hold sorted tokens (code-unit order), as broadKey() builds them
  const maxLen = Math.min(s.broadLengths.max, unique.length);
  if (subsetCount(unique.length, maxLen) <= MAX_BROAD_SUBSET_LOOKUPS) {
    enumerate(s, unique, 0, '', 0, maxLen, v);
    return;
  }
  // Too many subsets: walk the broad bidwords filed under each query token instead. A key's first
  // token is its least, so each bidword is seen at most once, under its first token.
  const query = new Set(unique);
  const byFirst = s.broadFallback();
  for (const t of unique) {
    const list = byFirst.get(t);
    if (list === undefined) continue;
    for (const h of list) if (containsAll(query, s.bidwords.key(h))) v.visit(h);
  }
}

function enumerate(
  s: IndexState,
  tokens: readonly string[],
  start: number,
  prefix: string,
  depth: number,
  maxLen: number,
  v: Visitor,
): void {
  for (let i = start; i < tokens.length; i++) {
    const key = depth === 0 ? tokens[i]! : `${prefix} ${tokens[i]!}`;
    const list = s.broad.get(key);
    if (list !== undefined) visitList(s, list, BROAD_BOUND, v);
    if (depth + 1 < maxLen) enumerate(s, tokens, i + 1, key, depth + 1, maxLen, v);
  }
}

/** Number of non-empty subsets of n items with at most k items. */
export function subsetCount(n: number, k: number): number {
  let total = 0;
  let c = 1;
  for (let i = 1; i <= k; i++) {
    c = (c * (n - i + 1)) / i;
    total += c;
    if (total > Number.MAX_SAFE_INTEGER / 2) return total;
  }
  return total;
}

function containsAll(query: ReadonlySet<string>, key: string): boolean {
  let start = 0;
  for (;;) {
    const end = key.indexOf(' ', start);
    const token = end < 0 ? key.slice(start) : key.slice(start, end);
    if (!query.has(token)) return false;
    if (end < 0) return true;
    start = end + 1;
  }
}

/** Negative keywords of an offer: true when one of them excludes the query. */
export function excludedByNegatives(
  s: IndexState,
  offer: OfferRec,
  queryNorm: string,
  paddedQuery: string,
): boolean {
  const t = s.bidwords;
  for (let h = offer.firstBidword; h >= 0; h = t.nextOf(h)) {
    const code = t.codeOf(h);
    if (code < NEGATIVE_CODE || t.tokenCountOf(h) === 0) continue;
    if (code === NEGATIVE_EXACT_CODE) {
      if (t.norm(h) === queryNorm) return true;
    } else if (paddedQuery.includes(` ${t.norm(h)} `)) {
      return true;
    }
  }
  return false;
}
