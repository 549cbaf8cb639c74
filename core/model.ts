// The model types and JSON schemas of DESIGN.md's external contracts: the BP snapshot rows,
// the snapshot metadata, and change messages (BP -> dispatch, and dispatch -> Kafka). Schemas are
// TypeBox objects, so the same definition gives the static type, the fastify route schema and
// the Ajv validator. Defined once here; every producer and consumer imports them.
import { type Static, Type } from '@sinclair/typebox';

/** Entity ids: short opaque strings (the generator writes c<n>, o<n>, b<n>). */
export const Id = Type.String({
  pattern: '^[A-Za-z0-9_.:-]{1,64}$',
  description: 'Entity id (1-64 of A-Z a-z 0-9 _ . : -)',
});
/** ISO 3166-1 alpha-2 country code, upper case. */
export const Region = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 country code' });
/** Category path: lower-case segments joined by "/", e.g. "apparel/shoes/running". */
export const CategoryPath = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$',
  maxLength: 200,
  description: 'Category path, segments joined by "/"',
});
export const Url = Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 });

/** Upper bound of any bid: 1,000 currency units. Keeps bid x qualityBp x weightPct below 2^53. */
export const MAX_BID_MICROS = 1_000_000_000;
export const Micros = Type.Integer({ minimum: 0, maximum: MAX_BID_MICROS * 1_000_000 });
export const BidMicros = Type.Integer({ minimum: 1, maximum: MAX_BID_MICROS });

export const CUSTOMER_STATUSES = ['online', 'offline', 'suspended'] as const;
export const OFFER_STATUSES = ['online', 'offline'] as const;
export const POSITIVE_MATCH_TYPES = ['exact', 'phrase', 'broad'] as const;
export const NEGATIVE_MATCH_TYPES = ['negative-exact', 'negative-phrase'] as const;
export const MATCH_TYPES = [...POSITIVE_MATCH_TYPES, ...NEGATIVE_MATCH_TYPES] as const;

const literals = <T extends readonly string[]>(values: T, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description: `${description}. Allowed: ${values.join(', ')}` },
  );

export const Customer = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    status: literals(CUSTOMER_STATUSES, 'Customer status'),
    dailyBudgetMicros: Micros,
    regions: Type.Optional(Type.Array(Region, { minItems: 1, maxItems: 250 })),
    /**
     * Why an offline customer is offline: `budget` when billing took it offline because its daily
     * budget was spent (billing sets it, and a change from the BP, which never carries it, ends
     * it). Searchers keep matching such a customer's ads aside to count the impressions it lost to
     * its budget (SearchResponse.lostToBudget); it means nothing on an online customer.
     */
    offlineReason: Type.Optional(
      Type.Literal('budget', { description: 'Set by billing: offline because the daily budget is spent' }),
    ),
  },
  { additionalProperties: false, $id: 'Customer' },
);
export type Customer = Static<typeof Customer>;

/** Offline because billing found its daily budget spent (not the BP's own pause). */
export function offlineForBudget(c: Customer): boolean {
  return c.status === 'offline' && c.offlineReason === 'budget';
}

export const Offer = Type.Object(
  {
    id: Id,
    customerId: Id,
    title: Type.String({ minLength: 1, maxLength: 300 }),
    category: CategoryPath,
    imageUrl: Url,
    landingUrl: Url,
    status: literals(OFFER_STATUSES, 'Offer status'),
    quality: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Quality score in (0, 1]' }),
    regions: Type.Optional(Type.Array(Region, { minItems: 1, maxItems: 250 })),
  },
  { additionalProperties: false, $id: 'Offer' },
);
export type Offer = Static<typeof Offer>;

/** A bidword. Positive match types need bidMicros >= 1; negatives carry no bid. */
export const Bidword = Type.Object(
  {
    id: Id,
    offerId: Id,
    keyword: Type.String({ minLength: 1, maxLength: 100 }),
    matchType: literals(MATCH_TYPES, 'Match type'),
    bidMicros: Type.Optional(BidMicros),
    status: literals(OFFER_STATUSES, 'Bidword status'),
  },
  { additionalProperties: false, $id: 'Bidword' },
);
export type Bidword = Static<typeof Bidword>;
export type MatchType = (typeof MATCH_TYPES)[number];
export type PositiveMatchType = (typeof POSITIVE_MATCH_TYPES)[number];

export const SnapshotMeta = Type.Object(
  {
    takenAt: Type.String({ format: 'date-time' }),
    watermark: Type.Integer({
      minimum: 0,
      description: 'Last change-message id the snapshot already contains',
    }),
  },
  { additionalProperties: true },
);
export type SnapshotMeta = Static<typeof SnapshotMeta>;

export const ENTITIES = ['customer', 'offer', 'bidword'] as const;
export type Entity = (typeof ENTITIES)[number];

export const DeleteData = Type.Object({ id: Id }, { additionalProperties: false });

/** One change as the BP sends it to dispatch. */
export const Change = Type.Union([
  Type.Object(
    { entity: Type.Literal('customer'), op: Type.Literal('upsert'), data: Customer },
    { additionalProperties: false },
  ),
  Type.Object(
    { entity: Type.Literal('offer'), op: Type.Literal('upsert'), data: Offer },
    { additionalProperties: false },
  ),
  Type.Object(
    { entity: Type.Literal('bidword'), op: Type.Literal('upsert'), data: Bidword },
    { additionalProperties: false },
  ),
  Type.Object(
    { entity: literals(ENTITIES, 'Entity'), op: Type.Literal('delete'), data: DeleteData },
    { additionalProperties: false },
  ),
]);
export type Change = Static<typeof Change>;

export const MAX_CHANGES_PER_BATCH = 1000;
export const ChangeBatch = Type.Object(
  { changes: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_CHANGES_PER_BATCH }) },
  { additionalProperties: false },
);

/** A change as dispatch writes it to the changes topic: the BP's change plus its message id. */
export type ChangeMessage = Change & {
  /** Unique, strictly increasing in acceptance order. */
  id: number;
  /** ISO time dispatch accepted it. */
  acceptedAt: string;
};

/**
 * Bidword checks a schema cannot express: positive match types need a bid, negatives must not
 * carry one. Returns the reason, or undefined when the row is fine.
 */
export function bidwordProblem(b: Bidword): string | undefined {
  const negative = b.matchType === 'negative-exact' || b.matchType === 'negative-phrase';
  if (negative && b.bidMicros !== undefined) return `negative keyword ${b.id} must not carry bidMicros`;
  if (!negative && b.bidMicros === undefined)
    return `bidword ${b.id} with match type ${b.matchType} needs bidMicros`;
  return undefined;
}
