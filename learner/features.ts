// The features of one shown ad, hashed into the model's coordinate space. Every feature is a
// string "<name>=<value>" (crosses "<a>x<b>=<value>|<value>"), hashed with FNV-1a 32-bit
// (core/partition.ts) and a final avalanche mix, and kept in the top `bits` bits. The learner
// builds them from a PV record's ad (core/pv-record.ts) and whoever ranks builds the same ones
// from a merger hit, with the position set to REFERENCE_POSITION: the model learns position as a
// feature of its own, so a rate scored at the reference position is the ad's own appeal,
// whatever position it was shown at while learning.
//
// Changing a feature's name or value form changes every coordinate: a model file records
// FEATURES_VERSION and a ranking process refuses a model of another version.
import { fnv1a32 } from '../core/partition.js';

export const FEATURES_VERSION = 1;

/** Ads are scored as if shown here (position 1: the top slot). */
export const REFERENCE_POSITION = 1;

export interface AdContext {
  keyword: string;
  offerId: string;
  customerId: string;
  matchType: string;
  /** 1-based position on the page. */
  position: number;
  /** The request's region and category filters, when it had them. */
  region?: string | undefined;
  category?: string | undefined;
  /** Normalized query tokens. */
  queryTokens: readonly string[];
  /** Hour of day of the request, 0-23 (UTC). */
  hour: number;
}

/** murmur3's fmix32: spreads FNV's low-entropy bits over the whole word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The coordinate of one feature string in a space of 2^bits. */
export function coordOf(feature: string, bits: number): number {
  return fmix32(fnv1a32(feature)) >>> (32 - bits);
}

/** Indexes in featureNames() of the offer's own features: a model that has weights there knows the offer. */
export const OFFER_FEATURE = 2;
export const KW_OFFER_FEATURE = 9;

/** The feature strings of one shown ad (bias first). Positions past 10 share one value. */
export function featureNames(a: AdContext): string[] {
  const pos = a.position > 10 ? '10+' : String(a.position);
  const out = [
    'bias',
    `kw=${a.keyword}`,
    `offer=${a.offerId}`,
    `cust=${a.customerId}`,
    `mt=${a.matchType}`,
    `pos=${pos}`,
    `hour=${a.hour}`,
    `region=${a.region ?? '-'}`,
    `cat=${a.category ?? '-'}`,
    `kwxoffer=${a.keyword}|${a.offerId}`,
    `mtxpos=${a.matchType}|${pos}`,
  ];
  const seen = new Set<string>();
  for (const t of a.queryTokens) {
    if (seen.has(t)) continue;
    seen.add(t);
    out.push(`tok=${t}`, `tokxoffer=${t}|${a.offerId}`);
  }
  return out;
}

/** The coordinates of one shown ad, for a model of 2^bits coordinates. */
export function featureCoords(a: AdContext, bits: number): Uint32Array {
  const names = featureNames(a);
  const out = new Uint32Array(names.length);
  for (let i = 0; i < names.length; i++) out[i] = coordOf(names[i]!, bits);
  return out;
}
