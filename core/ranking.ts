// Ranking arithmetic shared by the searcher (per-column top K), the merger (P4PNormalSort) and the
// blender (GSP pricing). All integers, so every process orders and prices ads identically:
//   score = bidMicros x qualityBp x weightPct
// with quality in basis points (1..10000) and match-type weights in percent. With bids capped at
// MAX_BID_MICROS (1e9) the product stays below 1e15 < 2^53, so it is exact in a double.
import type { PositiveMatchType } from './model.js';

export type RankedMatchType = PositiveMatchType | 'text';

/** Match-type weights in percent: exact >= phrase >= broad > text expansion (DESIGN.md). */
export const MATCH_WEIGHT_PCT: Readonly<Record<RankedMatchType, number>> = Object.freeze({
  exact: 100,
  phrase: 90,
  broad: 80,
  text: 50,
});

/** Order of match types when two bidwords of one offer score the same (lower wins). */
export const MATCH_TYPE_RANK: Readonly<Record<RankedMatchType, number>> = Object.freeze({
  exact: 0,
  phrase: 1,
  broad: 2,
  text: 3,
});

/** Quality (0, 1] -> basis points 1..10000 (rounded to nearest, never 0). */
export function qualityToBp(quality: number): number {
  return Math.min(10_000, Math.max(1, Math.round(quality * 10_000)));
}

export function score(bidMicros: number, qualityBp: number, matchType: RankedMatchType): number {
  return bidMicros * qualityBp * MATCH_WEIGHT_PCT[matchType];
}

export interface Rankable {
  score: number;
  qualityBp: number;
  offerId: string;
}

/**
 * The deterministic order of ads everywhere (searcher top K, merger P4PNormalSort):
 * score descending, then quality descending, then offer id ascending (code-unit order).
 * Negative when a ranks before b.
 */
export function compareRanked(a: Rankable, b: Rankable): number {
  if (a.score !== b.score) return b.score - a.score;
  if (a.qualityBp !== b.qualityBp) return b.qualityBp - a.qualityBp;
  return a.offerId < b.offerId ? -1 : a.offerId > b.offerId ? 1 : 0;
}
