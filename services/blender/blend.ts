// From a merger answer to the public answer and its page-view record: prices the n shown ads
// (pricing.ts; in the `ctr` experiment arm the hits come re-ranked by ctr-ranking.ts and are
// priced by pricing-ctr.ts with the same GSP rule in bid x pCTR terms), builds one click token per ad (core/click-token.ts) and the PV record
// (core/pv-record.ts). Pure apart from the token nonces; synchronous, runs once per request.
import {
  type ClickKeyring,
  type ClickTokenPayload,
  clientDigest,
  encodeClickTokens,
} from '../../core/click-token.js';
import { ImatchError } from '../../core/errors.js';
import type { Arm } from '../../core/experiment.js';
import type { MergeHit, MergeResponse } from '../../core/merge-contract.js';
import { PV_RECORD_VERSION, type PvAd, type PvRecord } from '../../core/pv-record.js';
import type { SearchHit } from '../../core/search-contract.js';
import { type PricingRule, priceAds } from './pricing.js';
import { ctrScore, priceAdsByCtr } from './pricing-ctr.js';
import type { QrwResult } from './qrw.js';
import type { Ad, AdsResponse } from './routes/schemas.js';

/** The SearchHit fields the blender asks the merger for (FieldFormatSort), all of them used. */
export const BLENDER_FIELDS = [
  'offerId',
  'customerId',
  'bidwordId',
  'keyword',
  'matchType',
  'bidMicros',
  'qualityBp',
  'score',
  'title',
  'imageUrl',
  'landingUrl',
] as const satisfies readonly (keyof SearchHit)[];

export type BlenderHit = Pick<SearchHit, (typeof BLENDER_FIELDS)[number]>;

export interface BlendInput {
  pvId: string;
  /** The experiment arm; absent: `quality`. */
  arm?: Arm | undefined;
  /** In the `ctr` arm: the pCTR (ppm) of each merged hit, in their (re-ranked) order, and the model version. */
  ctr?: { ctrPpm: readonly number[]; modelVersion: number } | undefined;
  nowMs: number;
  rawQuery: string;
  rewrite: QrwResult;
  n: number;
  region?: string | undefined;
  category?: string | undefined;
  user?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  merged: MergeResponse;
  rule: PricingRule;
  keyring: ClickKeyring;
  /** Click URLs are `${clickBaseUrl}/c/${token}`. */
  clickBaseUrl: string;
}

export interface Blended {
  response: Omit<AdsResponse, 'tookMs'>;
  pv: Omit<PvRecord, 'tookMs'>;
}

const MATCH_TYPES = new Set(['exact', 'phrase', 'broad', 'text']);

/** Whether a merger hit carries every field the blender needs, with the right types. */
export function isUsableHit(h: MergeHit): h is BlenderHit {
  return (
    typeof h.offerId === 'string' &&
    typeof h.customerId === 'string' &&
    typeof h.bidwordId === 'string' &&
    typeof h.keyword === 'string' &&
    typeof h.matchType === 'string' &&
    MATCH_TYPES.has(h.matchType) &&
    Number.isSafeInteger(h.bidMicros) &&
    Number.isSafeInteger(h.qualityBp) &&
    Number.isSafeInteger(h.score) &&
    typeof h.title === 'string' &&
    typeof h.imageUrl === 'string' &&
    typeof h.landingUrl === 'string'
  );
}

// The display URL is the landing URL's host as the WHATWG URL parser gives it. Parsing with
// `new URL()` costs about a microsecond, ten times per answer; the cache of recent hosts it
// replaces cost almost as much at peak (hashing a fresh URL string per lookup, about 3% of the
// blender's CPU by perf; its 20k bound was smaller than the offers answered, so it missed and
// left old-generation garbage at each clear). Instead, the common form is read directly: an
// http(s) URL whose host is lower-case letters, digits and hyphens in dot-separated labels, the
// last one starting with a letter (so not an IPv4 address), no "xn--" label (IDNA would check
// it), and an optional port without leading zeros, followed by the end or "/", "?" or "#". For
// such a URL the WHATWG host is exactly that text, minus the scheme's default port. Anything else (upper
// case, userinfo, percent signs, IP addresses, spaces or tabs the parser would strip, IDNs) goes
// to `new URL()`; display-url.test.ts compares the two on generated URLs.
const SIMPLE_HOST = /^(https?):\/\/((?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*)(?::([1-9][0-9]{0,4}))?(?:[/?#]|$)/;

/** Host of a landing URL ("https://Shop.Example.com:8443/p?x" -> "shop.example.com:8443"). */
export function displayUrlOf(landingUrl: string): string {
  const m = SIMPLE_HOST.exec(landingUrl);
  if (m !== null && !m[2]!.includes('xn--')) {
    const port = m[3];
    if (port === undefined) return m[2]!;
    const p = Number(port);
    if (p <= 65535) return p === (m[1] === 'https' ? 443 : 80) ? m[2]! : `${m[2]!}:${port}`;
  }
  try {
    return new URL(landingUrl).host;
  } catch {
    return '';
  }
}

/**
 * The merger's ads lost to budget that would have been among the n shown (positions <= n; the
 * merger ranks them in its n + 1), as the PV record keeps them. Malformed entries are dropped: a
 * count for reports, never a reason to fail an answer.
 */
export function lostShown(
  lost: MergeResponse['lostToBudget'],
  n: number,
): NonNullable<PvRecord['lostToBudget']> {
  if (!Array.isArray(lost)) return [];
  const out: NonNullable<PvRecord['lostToBudget']> = [];
  for (const a of lost) {
    if (a === null || typeof a !== 'object' || !Number.isSafeInteger(a.position) || a.position < 1) continue;
    if (a.position > n) continue;
    if (typeof a.offerId !== 'string' || typeof a.customerId !== 'string' || typeof a.bidwordId !== 'string')
      continue;
    out.push({ position: a.position, offerId: a.offerId, customerId: a.customerId, bidwordId: a.bidwordId });
  }
  return out;
}

export function blend(input: BlendInput): Blended {
  const hits = input.merged.hits;
  for (const h of hits) {
    if (!isUsableHit(h))
      throw new ImatchError('IM_ERR_UPSTREAM_DOWN', 'The merger answered with an incomplete ad', {
        cause: new TypeError(`merger hit lacks blender fields: ${JSON.stringify(h).slice(0, 300)}`),
      });
  }
  const ranked = hits as BlenderHit[];
  const ctr = input.ctr;
  if (ctr !== undefined && ctr.ctrPpm.length !== ranked.length)
    throw new RangeError(`ctrPpm has ${ctr.ctrPpm.length} entries for ${ranked.length} hits`);
  const byCtr =
    ctr === undefined
      ? undefined
      : ranked.map((h, i) => ({ offerId: h.offerId, bidMicros: h.bidMicros, ctrPpm: ctr.ctrPpm[i]! }));
  const prices =
    byCtr === undefined ? priceAds(ranked, input.n, input.rule) : priceAdsByCtr(byCtr, input.n, input.rule);
  const digest = clientDigest(input.ip, input.userAgent);
  const ads: Ad[] = new Array(prices.length);
  const pvAds: PvAd[] = new Array(prices.length);
  const payloads: ClickTokenPayload[] = new Array(prices.length);
  for (let i = 0; i < prices.length; i++) {
    const h = ranked[i]!;
    payloads[i] = {
      pvId: input.pvId,
      position: i + 1,
      offerId: h.offerId,
      customerId: h.customerId,
      bidwordId: h.bidwordId,
      priceMicros: prices[i]!,
      bidMicros: h.bidMicros,
      issuedAtMs: input.nowMs,
      landingUrl: h.landingUrl,
      clientDigest: digest,
    };
  }
  // All n tokens in one call into OpenSSL (core/gcm-seal.ts).
  const tokens = encodeClickTokens(input.keyring, payloads);
  for (let i = 0; i < prices.length; i++) {
    const h = ranked[i]!;
    const position = i + 1;
    const priceMicros = prices[i]!;
    ads[i] = {
      position,
      offerId: h.offerId,
      customerId: h.customerId,
      bidwordId: h.bidwordId,
      keyword: h.keyword,
      matchType: h.matchType,
      title: h.title,
      imageUrl: h.imageUrl,
      displayUrl: displayUrlOf(h.landingUrl),
      clickUrl: `${input.clickBaseUrl}/c/${tokens[i]!}`,
      priceMicros,
    };
    pvAds[i] = {
      position,
      offerId: h.offerId,
      customerId: h.customerId,
      bidwordId: h.bidwordId,
      keyword: h.keyword,
      matchType: h.matchType,
      bidMicros: h.bidMicros,
      qualityBp: h.qualityBp,
      score: h.score,
      priceMicros,
    };
    if (ctr !== undefined) pvAds[i]!.ctrPpm = ctr.ctrPpm[i]!;
  }
  const coverage = { columns: input.merged.coverage.columns, answered: input.merged.coverage.answered };
  const next = ranked[prices.length];
  const user: PvRecord['user'] = { clientDigest: digest };
  if (input.user !== undefined) user.id = input.user;
  if (input.ip !== undefined) user.ip = input.ip;
  if (input.userAgent !== undefined) user.userAgent = input.userAgent;
  const pv: Omit<PvRecord, 'tookMs'> = {
    v: PV_RECORD_VERSION,
    pvId: input.pvId,
    timeMs: input.nowMs,
    time: new Date(input.nowMs).toISOString(),
    query: {
      raw: input.rawQuery,
      normalized: input.rewrite.normalized.join(' '),
      rewritten: input.rewrite.query,
      synonyms: [...input.rewrite.synonymsApplied],
      stopwords: [...input.rewrite.stopwordsRemoved],
    },
    n: input.n,
    user,
    coverage,
    degraded: input.merged.degraded,
    arm: input.arm ?? 'quality',
    pricing: { reserveMicros: input.rule.reserveMicros, stepMicros: input.rule.stepMicros },
    ads: pvAds,
  };
  if (input.region !== undefined) pv.region = input.region;
  if (input.category !== undefined) pv.category = input.category;
  if (ctr !== undefined) pv.modelVersion = ctr.modelVersion;
  const lost = lostShown(input.merged.lostToBudget, input.n);
  if (lost.length > 0) pv.lostToBudget = lost;
  if (next !== undefined) pv.nextScore = byCtr === undefined ? next.score : ctrScore(byCtr[prices.length]!);
  return {
    response: {
      requestId: input.pvId,
      arm: input.arm ?? 'quality',
      ads,
      coverage,
      degraded: input.merged.degraded,
    },
    pv,
  };
}
