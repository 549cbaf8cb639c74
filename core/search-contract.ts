// The merger <-> searcher contract: `POST /search` on a searcher replica. Defined once here and
// imported by both sides (and by the blender for the fields it prices and shows).
import { type Static, Type } from '@sinclair/typebox';
import { CategoryPath, Id, Region } from './model.js';

export const MAX_QUERY_LENGTH = 200;
export const MAX_K = 100;

export const SearchHit = Type.Object(
  {
    offerId: Id,
    customerId: Id,
    /** The offer's best-scoring bidword (for text expansion: the offer's highest-bid bidword). */
    bidwordId: Id,
    keyword: Type.String(),
    matchType: Type.Union([
      Type.Literal('exact'),
      Type.Literal('phrase'),
      Type.Literal('broad'),
      Type.Literal('text'),
    ]),
    bidMicros: Type.Integer({ minimum: 1 }),
    qualityBp: Type.Integer({ minimum: 1, maximum: 10000 }),
    score: Type.Integer({ minimum: 0 }),
    title: Type.String(),
    category: Type.String(),
    imageUrl: Type.String(),
    landingUrl: Type.String(),
  },
  { additionalProperties: false, $id: 'SearchHit' },
);
export type SearchHit = Static<typeof SearchHit>;

/** Every SearchHit field, in schema order: what FieldFormatSort may select. */
export const HIT_FIELDS = Object.freeze(Object.keys(SearchHit.properties) as (keyof SearchHit)[]);
export type HitField = keyof SearchHit;

export const HitFieldName = Type.Union(
  HIT_FIELDS.map((f) => Type.Literal(f)),
  { description: `A SearchHit field. Allowed: ${HIT_FIELDS.join(', ')}` },
);

export const SearchRequest = Type.Object(
  {
    /** Query text; the searcher normalizes it with core/normalize (idempotent). */
    query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH }),
    /** How many ads to return at most (top K of this column). */
    k: Type.Integer({ minimum: 1, maximum: MAX_K }),
    /** Only offers that serve this country. */
    region: Type.Optional(Region),
    /** Only offers in this category or below it ("apparel" matches "apparel/shoes"). */
    category: Type.Optional(CategoryPath),
    /** Use title-text expansion when bidwords give fewer than k ads (default true). */
    textExpansion: Type.Optional(Type.Boolean()),
    /** Only these SearchHit fields in each hit (schema order whatever the order asked); default all. */
    fields: Type.Optional(
      Type.Array(HitFieldName, { minItems: 1, maxItems: HIT_FIELDS.length, uniqueItems: true }),
    ),
    /**
     * `json` (default): a SearchResponse. `lines`: the merger's form (core/hit-lines.ts), the
     * envelope then one line per hit with its ranking keys in front of its JSON.
     */
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('lines')])),
  },
  { additionalProperties: false, $id: 'SearchRequest' },
);
export type SearchRequest = Static<typeof SearchRequest>;

/**
 * An ad of a customer offline for its budget that would have been among the column's top k
 * bidword hits had the customer been online (text expansion hits are not counted, and never
 * displace bidword hits). Matched and filtered exactly like a hit, the customer's status aside;
 * the searcher decides only for bidwords scoring at least the top-k threshold, so counting them
 * costs nothing on queries without such ads.
 */
export const LostAd = Type.Object(
  {
    offerId: Id,
    customerId: Id,
    bidwordId: Id,
    matchType: Type.Union([Type.Literal('exact'), Type.Literal('phrase'), Type.Literal('broad')]),
    qualityBp: Type.Integer({ minimum: 1, maximum: 10000 }),
    score: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type LostAd = Static<typeof LostAd>;

export const SearchResponse = Type.Object(
  {
    column: Type.Integer({ minimum: 0 }),
    replica: Type.String(),
    /** Index version id this answer came from. */
    version: Type.String(),
    /** Last change-message id applied to the live index (0 when none). */
    appliedId: Type.Integer({ minimum: 0 }),
    hits: Type.Array(SearchHit),
    /** Ads lost to budget (see LostAd), compareRanked order; absent when none. */
    lostToBudget: Type.Optional(Type.Array(LostAd, { maxItems: MAX_K })),
    tookUs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, $id: 'SearchResponse' },
);
export type SearchResponse = Static<typeof SearchResponse>;
