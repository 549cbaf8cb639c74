// The blender's public HTTP schemas (DESIGN.md "Ad query"), TypeBox, used for validation, for
// the compiled response serializers and for the OpenAPI document at /openapi.json.
import { type Static, Type } from '@sinclair/typebox';
import { CategoryPath, Id, Region } from '../../../core/model.js';
import { MAX_QUERY_LENGTH } from '../../../core/search-contract.js';
import { DEFAULT_ADS, MAX_ADS } from '../config.js';

export const MAX_USER_AGENT_LENGTH = 1024;

const queryFields = {
  q: Type.String({
    minLength: 1,
    maxLength: MAX_QUERY_LENGTH,
    description: `The buyer's search text, 1-${MAX_QUERY_LENGTH} characters`,
    examples: ['red running shoes'],
  }),
  n: Type.Integer({
    minimum: 1,
    maximum: MAX_ADS,
    default: DEFAULT_ADS,
    description: `How many ads to return, an integer 1-${MAX_ADS} (default ${DEFAULT_ADS})`,
  }),
  region: Type.Optional({
    ...Region,
    description: 'Only ads that serve this ISO 3166-1 alpha-2 country, e.g. DE',
  }),
  category: Type.Optional({
    ...CategoryPath,
    description: 'Only ads in this category or below it, segments joined by "/", e.g. apparel/shoes',
  }),
  user: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'Opaque end-user id, 1-128 printable ASCII characters without spaces',
    }),
  ),
};

export const AdsQuery = Type.Object(queryFields, { additionalProperties: false });
export type AdsQuery = Static<typeof AdsQuery>;

export const AdsBody = Type.Object(
  {
    ...queryFields,
    ip: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 45,
        format: 'ip',
        description: "The end user's IP address (IPv4 or IPv6)",
        examples: ['203.0.113.7'],
      }),
    ),
    userAgent: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_USER_AGENT_LENGTH,
        description: `The end user's User-Agent header, at most ${MAX_USER_AGENT_LENGTH} characters`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type AdsBody = Static<typeof AdsBody>;

export const Ad = Type.Object({
  position: Type.Integer({ minimum: 1, description: '1-based position on the page' }),
  offerId: Id,
  customerId: Id,
  bidwordId: Id,
  keyword: Type.String({
    description: "The bidword that matched (for text expansion: the offer's top bidword)",
  }),
  matchType: Type.Union(
    [Type.Literal('exact'), Type.Literal('phrase'), Type.Literal('broad'), Type.Literal('text')],
    { description: 'How the query matched: exact, phrase, broad, or text (title expansion)' },
  ),
  title: Type.String(),
  imageUrl: Type.String(),
  displayUrl: Type.String({ description: 'Host of the landing page, to show under the title' }),
  clickUrl: Type.String({ description: 'Send the user here on a click: <click-base-url>/c/<token>' }),
  priceMicros: Type.Integer({ minimum: 0, description: 'What one billable click costs, in micros (GSP)' }),
});
export type Ad = Static<typeof Ad>;

export const AdsResponse = Type.Object({
  requestId: Type.String({
    description: 'Page-view id (UUID); the PV record and every click token carry it',
  }),
  arm: Type.Union([Type.Literal('quality'), Type.Literal('ctr')], {
    description:
      "The experiment arm that ranked this answer: quality (bid x the platform's quality) or ctr (bid x learned pCTR); see docs/learning.md",
  }),
  ads: Type.Array(Ad),
  coverage: Type.Object({
    columns: Type.Integer({ minimum: 0, description: 'Index columns of the current version' }),
    answered: Type.Integer({ minimum: 0, description: 'Columns whose ads are in this answer' }),
  }),
  degraded: Type.Boolean({
    description: 'True when some column did not answer (fewer ads than the full engine)',
  }),
  tookMs: Type.Number({ minimum: 0, description: 'Time the blender spent on the request (ms)' }),
});
export type AdsResponse = Static<typeof AdsResponse>;

/** Every error answer: core/error-body.ts. */
export { ErrorBody } from '../../../core/error-body.js';
