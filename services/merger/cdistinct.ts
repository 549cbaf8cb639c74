// CDistinct: at most k ads per customer (advertiser) in one answer. Applied by the merger AFTER
// the columns' answers are merged, never per column: an advertiser's offers are spread over
// columns by offer id, so a per-column limit would let k ads per column through.
// Pure function over a ranked array; no state.
import type { SearchHit } from '../../core/search-contract.js';

export interface CDistinctResult<T> {
  /** The kept hits, in input order, at most `limit`. */
  kept: T[];
  /** Hits dropped because their customer already had k kept ads (or the offer was already kept). */
  dropped: number;
}

/**
 * Walks `ranked` (best first, P4PNormalSort order) and keeps a hit when its customer has fewer
 * than `perCustomerMax` kept hits and its offer was not kept yet (an offer seen twice, e.g. from
 * two index versions during a swap, keeps its first, best-ranked copy). Stops at `limit` kept hits:
 * later hits cannot change what was kept, because each decision only looks at better-ranked ones.
 */
export function cdistinct<T extends Pick<SearchHit, 'customerId' | 'offerId'>>(
  ranked: readonly T[],
  perCustomerMax: number,
  limit: number = Number.POSITIVE_INFINITY,
): CDistinctResult<T> {
  const kept: T[] = [];
  const perCustomer = new Map<string, number>();
  const offers = new Set<string>();
  let dropped = 0;
  for (const hit of ranked) {
    if (kept.length >= limit) break;
    if (offers.has(hit.offerId)) {
      dropped++;
      continue;
    }
    const count = perCustomer.get(hit.customerId) ?? 0;
    if (count >= perCustomerMax) {
      dropped++;
      continue;
    }
    perCustomer.set(hit.customerId, count + 1);
    offers.add(hit.offerId);
    kept.push(hit);
  }
  return { kept, dropped };
}
