// The blender <-> merger contract: `POST /merge` on a merger. Defined once here and imported by
// both sides. The merger fans the query out to one replica of every searcher column, merges the
// columns' top n, applies CDistinct (at most k ads per customer, after the merge), P4PNormalSort
// (core/ranking compareRanked) and FieldFormatSort (only the requested SearchHit fields).
// Each column is asked for its top n; when CDistinct drops ads so that a column's unseen ads
// could belong in the answer, those columns are asked again for MAX_K within the same deadline
// (services/merger/merge.ts), so the answer is the top n after CDistinct, not merely n per column.
//
// Status codes (decided here so both sides agree):
//   200  at least one column answered. `degraded: true` when any column did not (no replica,
//        all replicas failed, or the deadline passed); `coverage` says how many.
//   400  the request does not match MergeRequest (IM_ERR_BAD_REQUEST, body names the problem).
//   502  no column answered and at least one failed (IM_ERR_UPSTREAM_DOWN), or no column has a
//        healthy replica. A zero-coverage 200 would look like "no ad matches", which is a
//        different fact: the blender decides what to show when the engine is down.
//   503  the merger has not discovered the index layout yet (IM_ERR_NOT_READY, Retry-After).
//   504  no column answered and every failure was the deadline (IM_ERR_UPSTREAM_TIMEOUT).
import { type Static, Type } from '@sinclair/typebox';
import { CategoryPath, Region } from './model.js';
import { HIT_FIELDS, HitFieldName, LostAd, MAX_QUERY_LENGTH, SearchHit } from './search-contract.js';

export { HIT_FIELDS, type HitField, HitFieldName } from './search-contract.js';

/** The most ads one merge returns (the blender asks n+1 for its n <= 20 shown ads). */
export const MAX_MERGE_N = 100;

export const MergeRequest = Type.Object(
  {
    /** Query text (already rewritten by the blender); searchers normalize it again (idempotent). */
    query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH }),
    /** How many ads to return at most, after CDistinct. */
    n: Type.Integer({ minimum: 1, maximum: MAX_MERGE_N }),
    region: Type.Optional(Region),
    category: Type.Optional(CategoryPath),
    /** FieldFormatSort: only these SearchHit fields are returned (in schema order); default all. */
    fields: Type.Optional(
      Type.Array(HitFieldName, { minItems: 1, maxItems: HIT_FIELDS.length, uniqueItems: true }),
    ),
    /** Passed to every searcher (title-text expansion when bidwords give too few ads; default true). */
    textExpansion: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, $id: 'MergeRequest' },
);
export type MergeRequest = Static<typeof MergeRequest>;

/** A hit after FieldFormatSort: any subset of SearchHit's fields. */
export const MergeHit = Type.Partial(SearchHit);
export type MergeHit = Partial<SearchHit>;

export const Coverage = Type.Object(
  {
    /** Columns of the current index version (every one is asked, or skipped when it has no replica). */
    columns: Type.Integer({ minimum: 0 }),
    /** Columns whose answer is in this merge. */
    answered: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type Coverage = Static<typeof Coverage>;

/**
 * An ad lost to budget (core/search-contract.ts LostAd) that would have been in this answer:
 * the columns' lost ads ranked with the hits (P4PNormalSort) and CDistinct applied to the union,
 * as if their customers were online; `position` is its 1-based place in that ranking (<= n).
 */
export const MergeLostAd = Type.Object(
  { ...LostAd.properties, position: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);
export type MergeLostAd = Static<typeof MergeLostAd>;

export const MergeResponse = Type.Object(
  {
    /** Best first (score desc, quality desc, offer id asc), at most `n`, at most k per customer. */
    hits: Type.Array(MergeHit),
    /** Ads lost to budget that would have been in the answer (see MergeLostAd); absent when none. */
    lostToBudget: Type.Optional(Type.Array(MergeLostAd, { maxItems: MAX_MERGE_N })),
    coverage: Coverage,
    /** True when coverage.answered < coverage.columns. */
    degraded: Type.Boolean(),
    /** Time spent in the merger, microseconds. */
    tookUs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, $id: 'MergeResponse' },
);
export type MergeResponse = Static<typeof MergeResponse>;
