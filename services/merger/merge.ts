// The merge pipeline of one query, as pure functions: merge the columns' answers into
// P4PNormalSort order, apply CDistinct (after the merge), cut to n, and decide whether any column
// must be asked deeper for the answer to be the true top n.
//
// Why a deeper round: each column is asked for its top n, which is enough for the global top n
// (every ad of the global top n is in its own column's top n). CDistinct breaks that argument:
// when it drops ads, a column's (n+1)-th ad may belong in the answer. The answer is exact when,
// for every column that returned a full page, the answer is full and its last ad ranks before
// that column's last returned ad (every ad the column did not return ranks after its last one, so
// it could only land after the answer's last ad, where the answer is already full). Otherwise the
// fan-out asks those columns again for MAX_K and merges once more. No state.
import type { HitKeys } from '../../core/hit-lines.js';
import type { MergeLostAd } from '../../core/merge-contract.js';
import { type LostAd, MAX_K } from '../../core/search-contract.js';
import { cdistinct } from './cdistinct.js';
import { lostToBudget } from './lost-to-budget.js';
import { mergeRanked, ranksAfter } from './sort.js';

/**
 * A hit as the merger holds it: the keys it ranks, distincts and checks by, and its JSON when the
 * column answered in the lines form (core/hit-lines.ts). A hit of the JSON form is a whole
 * SearchHit object (it has the keys, and no `json`).
 */
export type ColumnHit = HitKeys & { readonly json?: string };

export interface ColumnAnswer {
  readonly hits: readonly ColumnHit[];
  /** Its ads lost to budget (lost-to-budget.ts), when it had any. */
  readonly lostToBudget?: readonly LostAd[] | undefined;
  /** The k this column was asked for. */
  readonly askedK: number;
}

export interface MergeOutcome {
  /** At most n hits, P4PNormalSort order, at most perCustomerMax per customer, each offer once. */
  hits: ColumnHit[];
  /** Hits removed by CDistinct (within the part of the ranking that was scanned). */
  dropped: number;
  /** Columns to ask again with k = MAX_K for an exact answer (empty: the answer is exact). */
  deepen: number[];
  /** The columns' ads lost to budget that would have been in the answer (lost-to-budget.ts). */
  lostToBudget: MergeLostAd[];
}

/** `answers[c]` is column c's answer, or undefined when the column did not answer. */
export function mergeAnswers(
  answers: readonly (ColumnAnswer | undefined)[],
  n: number,
  perCustomerMax: number,
): MergeOutcome {
  const lists: (readonly ColumnHit[])[] = [];
  const lostLists: (readonly LostAd[])[] = [];
  for (const a of answers) {
    if (a === undefined) continue;
    lists.push(a.hits);
    if (a.lostToBudget !== undefined && a.lostToBudget.length > 0) lostLists.push(a.lostToBudget);
  }
  // Sorted even with one list: a column's order is its own claim, the merger's order is this one.
  const ranked = mergeRanked(lists);
  const { kept, dropped } = cdistinct(ranked, perCustomerMax, n);
  const deepen: number[] = [];
  if (dropped > 0) {
    const last = kept[kept.length - 1];
    for (let c = 0; c < answers.length; c++) {
      const a = answers[c];
      if (a === undefined || a.askedK >= MAX_K || a.hits.length < a.askedK) continue;
      const columnLast = a.hits[a.hits.length - 1]!;
      if (kept.length < n || last === undefined || ranksAfter(last, columnLast)) deepen.push(c);
    }
  }
  const lost = lostLists.length === 0 ? [] : lostToBudget(lists, lostLists, n, perCustomerMax);
  return { hits: kept, dropped, deepen, lostToBudget: lost };
}
