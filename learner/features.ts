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
import { fnv1a32, fnv1a32Continue } from '../core/partition.js';

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

/**
 * What the ads of one query share: the coordinates of the query-level features (bias, hour, region,
 * category, each token) and the hash state of each token's cross with an offer up to the offer id.
 * Built once per page view (learner) or per query (ranking), then adCoords per ad.
 */
export interface QueryFeatures {
  readonly bits: number;
  readonly bias: number;
  readonly hour: number;
  readonly region: number;
  readonly category: number;
  /** Distinct tokens in order: coordinate of `tok=t`... */
  readonly tokens: readonly number[];
  /** ...and the FNV state of `tokxoffer=t|`. */
  readonly tokenOfferPrefixes: readonly number[];
}

const H = {
  kw: fnv1a32('kw='),
  offer: fnv1a32('offer='),
  cust: fnv1a32('cust='),
  mt: fnv1a32('mt='),
  pos: fnv1a32('pos='),
  hour: fnv1a32('hour='),
  region: fnv1a32('region='),
  cat: fnv1a32('cat='),
  kwxoffer: fnv1a32('kwxoffer='),
  mtxpos: fnv1a32('mtxpos='),
  tok: fnv1a32('tok='),
  tokxoffer: fnv1a32('tokxoffer='),
};
const BIAS = fnv1a32('bias');
const BAR = '|';

export function queryFeatures(
  q: Pick<AdContext, 'queryTokens' | 'hour' | 'region' | 'category'>,
  bits: number,
): QueryFeatures {
  const c = (h: number) => fmix32(h) >>> (32 - bits);
  const tokens: number[] = [];
  const prefixes: number[] = [];
  const seen = new Set<string>();
  for (const t of q.queryTokens) {
    if (seen.has(t)) continue;
    seen.add(t);
    tokens.push(c(fnv1a32Continue(H.tok, t)));
    prefixes.push(fnv1a32Continue(fnv1a32Continue(H.tokxoffer, t), BAR));
  }
  return {
    bits,
    bias: c(BIAS),
    hour: c(fnv1a32Continue(H.hour, String(q.hour))),
    region: c(fnv1a32Continue(H.region, q.region ?? '-')),
    category: c(fnv1a32Continue(H.cat, q.category ?? '-')),
    tokens,
    tokenOfferPrefixes: prefixes,
  };
}

/** The coordinates of one shown ad of a query, in featureNames() order (without building the names). */
export function adCoords(
  a: Pick<AdContext, 'keyword' | 'offerId' | 'customerId' | 'matchType' | 'position'>,
  q: QueryFeatures,
): Uint32Array {
  const shift = 32 - q.bits;
  const pos = a.position > 10 ? '10+' : String(a.position);
  const out = new Uint32Array(11 + 2 * q.tokens.length);
  out[0] = q.bias;
  out[1] = fmix32(fnv1a32Continue(H.kw, a.keyword)) >>> shift;
  out[2] = fmix32(fnv1a32Continue(H.offer, a.offerId)) >>> shift;
  out[3] = fmix32(fnv1a32Continue(H.cust, a.customerId)) >>> shift;
  out[4] = fmix32(fnv1a32Continue(H.mt, a.matchType)) >>> shift;
  out[5] = fmix32(fnv1a32Continue(H.pos, pos)) >>> shift;
  out[6] = q.hour;
  out[7] = q.region;
  out[8] = q.category;
  out[9] =
    fmix32(fnv1a32Continue(fnv1a32Continue(fnv1a32Continue(H.kwxoffer, a.keyword), BAR), a.offerId)) >>>
    shift;
  out[10] =
    fmix32(fnv1a32Continue(fnv1a32Continue(fnv1a32Continue(H.mtxpos, a.matchType), BAR), pos)) >>> shift;
  for (let i = 0; i < q.tokens.length; i++) {
    out[11 + 2 * i] = q.tokens[i]!;
    out[12 + 2 * i] = fmix32(fnv1a32Continue(q.tokenOfferPrefixes[i]!, a.offerId)) >>> shift;
  }
  return out;
}

/** The coordinates of one shown ad, for a model of 2^bits coordinates (featureNames order). */
export function featureCoords(a: AdContext, bits: number): Uint32Array {
  return adCoords(a, queryFeatures(a, bits));
}
