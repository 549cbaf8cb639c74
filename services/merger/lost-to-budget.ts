// Which of the columns' ads lost to budget (core/search-contract.ts LostAd) would have been in the
// merged answer: ranked together with the columns' hits in P4PNormalSort order, CDistinct applied
// to the union and cut to n, as if every customer offline for budget were online. Each column
// sends only its lost ads that would have been among its own top k bidword hits (the searcher's
// rule), so a lost ad missing here could not have reached the answer. Pure; runs only when some
// column sent lost ads, which is rare (a customer is offline for budget and matches the query).
import type { MergeLostAd } from '../../core/merge-contract.js';
import type { LostAd } from '../../core/search-contract.js';
import { cdistinct } from './cdistinct.js';
import type { ColumnHit } from './merge.js';
import { mergeRanked } from './sort.js';

export function lostToBudget(
  hitLists: readonly (readonly ColumnHit[])[],
  lostLists: readonly (readonly LostAd[])[],
  n: number,
  perCustomerMax: number,
): MergeLostAd[] {
  const lost = new Set<LostAd>();
  for (const list of lostLists) for (const a of list) lost.add(a);
  if (lost.size === 0) return [];
  const union = mergeRanked<ColumnHit | LostAd>([...hitLists, ...lostLists]);
  const { kept } = cdistinct(union, perCustomerMax, n);
  const out: MergeLostAd[] = [];
  for (let i = 0; i < kept.length; i++) {
    const a = kept[i]!;
    if (!lost.has(a as LostAd)) continue;
    const l = a as LostAd;
    out.push({
      offerId: l.offerId,
      customerId: l.customerId,
      bidwordId: l.bidwordId,
      matchType: l.matchType,
      qualityBp: l.qualityBp,
      score: l.score,
      position: i + 1,
    });
  }
  return out;
}
