// P4PNormalSort: the merger's final order of ads, which is core/ranking's compareRanked (score
// descending, quality descending, offer id ascending), the same order every searcher uses for
// its own top K. Pure functions over plain arrays; no state.
import { compareRanked, type Rankable } from '../../core/ranking.js';

/**
 * Concatenates the columns' answers and sorts them into P4PNormalSort order. Each column's list
 * is small (at most MAX_K), so one sort of the concatenation is cheaper than a k-way merge with
 * its bookkeeping; the result is a new array and the inputs are not changed.
 */
export function mergeRanked<T extends Rankable>(lists: readonly (readonly T[])[]): T[] {
  let total = 0;
  for (const list of lists) total += list.length;
  const out: T[] = new Array(total);
  let i = 0;
  for (const list of lists) for (const hit of list) out[i++] = hit;
  return out.sort(compareRanked);
}

/** True when a ranks strictly after b in P4PNormalSort order. */
export function ranksAfter(a: Rankable, b: Rankable): boolean {
  return compareRanked(a, b) > 0;
}
