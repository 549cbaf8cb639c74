// The "lines" form of a searcher's answer (`POST /search` with `"format":"lines"`), the merger's
// wire format: the merger ranks hits (score, quality, offer id), applies CDistinct (customer,
// offer) and checks for text hits (match type), and copies every other field through untouched.
// In this form it reads those five keys from the front of each line and never parses, builds or
// serializes the display fields (title, URLs, keyword), which the JSON form made it do twice.
//
//   line 1        the envelope as JSON: {"column":..,"replica":..,"version":..,"appliedId":..,
//                 "lostToBudget":[..] (only when there are ads lost to budget),"tookUs":..}
//   each next     <score> <qualityBp> <matchType> <offerId> <customerId> TAB <the hit as JSON>
//   line ends     "\n" after every line, the last one included
//
// The hit JSON is exactly what the JSON form carries for that hit (SearchHit fields in schema
// order, limited to the request's `fields`), so the merger's answer is the concatenation of the
// kept hits' JSON. Ids match core/model's Id pattern (no space, tab or newline) and JSON text has
// no raw tab or newline, so the separators cannot occur inside a field.
//
// Both sides use this module: the searcher writes with hitLine(), the merger reads with
// parseHitLines(). Pure functions.
import type { LostAd, SearchHit, SearchResponse } from './search-contract.js';

/** Content type of an answer in the lines form. */
export const HIT_LINES_TYPE = 'application/vnd.imatch.hit-lines';

/** What the merger needs of a hit to rank it and apply CDistinct; `json` is the hit as JSON. */
export interface HitKeys {
  score: number;
  qualityBp: number;
  matchType: SearchHit['matchType'];
  offerId: string;
  customerId: string;
}

/** A hit read from the lines form. */
export interface HitLine extends HitKeys {
  json: string;
}

export type HitLinesEnvelope = Omit<SearchResponse, 'hits'>;

const MATCH_TYPES: ReadonlySet<string> = new Set(['exact', 'phrase', 'broad', 'text']);
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** One hit's line, newline included. */
export function hitLine(keys: HitKeys, json: string): string {
  return `${keys.score} ${keys.qualityBp} ${keys.matchType} ${keys.offerId} ${keys.customerId}\t${json}\n`;
}

/** Thrown for text that is not a well-formed answer in the lines form. */
export class HitLinesError extends Error {}

function safeInt(text: string, what: string): number {
  const n = Number(text);
  if (text === '' || !Number.isSafeInteger(n) || n < 0)
    throw new HitLinesError(`${what} is not an integer: ${text}`);
  return n;
}

const LOST_MATCH_TYPES: ReadonlySet<string> = new Set(['exact', 'phrase', 'broad']);

/** Whether a searcher's `lostToBudget` (either form) is a list of well-formed LostAd entries. */
export function isLostAdList(x: unknown): x is LostAd[] {
  if (!Array.isArray(x)) return false;
  for (const a of x as Partial<LostAd>[]) {
    if (a === null || typeof a !== 'object') return false;
    if (typeof a.offerId !== 'string' || !ID.test(a.offerId)) return false;
    if (typeof a.customerId !== 'string' || !ID.test(a.customerId)) return false;
    if (typeof a.bidwordId !== 'string' || !ID.test(a.bidwordId)) return false;
    if (typeof a.matchType !== 'string' || !LOST_MATCH_TYPES.has(a.matchType)) return false;
    if (!Number.isSafeInteger(a.score) || (a.score as number) < 0) return false;
    if (!Number.isSafeInteger(a.qualityBp) || (a.qualityBp as number) < 1) return false;
  }
  return true;
}

/** Reads a whole answer; throws HitLinesError when any line is malformed. */
export function parseHitLines(text: string): { envelope: HitLinesEnvelope; hits: HitLine[] } {
  const first = text.indexOf('\n');
  if (first < 0) throw new HitLinesError('no envelope line');
  let envelope: HitLinesEnvelope;
  try {
    envelope = JSON.parse(text.slice(0, first)) as HitLinesEnvelope;
  } catch (err) {
    throw new HitLinesError(`envelope is not JSON: ${(err as Error).message}`);
  }
  if (envelope === null || typeof envelope !== 'object' || !Number.isSafeInteger(envelope.column))
    throw new HitLinesError('envelope has no column');
  if (envelope.lostToBudget !== undefined && !isLostAdList(envelope.lostToBudget))
    throw new HitLinesError('envelope has a malformed lostToBudget');
  const hits: HitLine[] = [];
  let at = first + 1;
  while (at < text.length) {
    const end = text.indexOf('\n', at);
    if (end < 0) throw new HitLinesError('last line has no newline (truncated answer)');
    const tab = text.indexOf('\t', at);
    if (tab < 0 || tab > end)
      throw new HitLinesError(`line without a tab: ${text.slice(at, end).slice(0, 200)}`);
    const keys = text.slice(at, tab).split(' ');
    if (keys.length !== 5) throw new HitLinesError(`line with ${keys.length} keys instead of 5`);
    const [score, qualityBp, matchType, offerId, customerId] = keys as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (!MATCH_TYPES.has(matchType)) throw new HitLinesError(`unknown match type ${matchType}`);
    if (!ID.test(offerId) || !ID.test(customerId)) throw new HitLinesError('malformed offer or customer id');
    const json = text.slice(tab + 1, end);
    if (json.charCodeAt(0) !== 123 || json.charCodeAt(json.length - 1) !== 125)
      throw new HitLinesError('hit is not a JSON object');
    hits.push({
      score: safeInt(score, 'score'),
      qualityBp: safeInt(qualityBp, 'qualityBp'),
      matchType: matchType as SearchHit['matchType'],
      offerId,
      customerId,
      json,
    });
    at = end + 1;
  }
  return { envelope, hits };
}
