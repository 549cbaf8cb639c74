// The page-view (PV) record: one per answered ad request, written by the blender to the Kafka pv
// topic (KafkaSettings.topicPv), keyed by pvId, JSON, with the Kafka record timestamp set to the
// request time. Seed 003's "PV log": DA joins it with click decisions (click id = pvId:position,
// core/click-records.ts) for reports. Defined once here for its producer and its consumers.
import { type Static, Type } from '@sinclair/typebox';

export const PV_RECORD_VERSION = 1;

const Micros = Type.Integer({ minimum: 0 });

export const PvAd = Type.Object(
  {
    /** 1-based position on the page. */
    position: Type.Integer({ minimum: 1 }),
    offerId: Type.String(),
    customerId: Type.String(),
    bidwordId: Type.String(),
    keyword: Type.String(),
    matchType: Type.String(),
    bidMicros: Micros,
    qualityBp: Type.Integer({ minimum: 1, maximum: 10_000 }),
    /** core/ranking score: bidMicros x qualityBp x weightPct. */
    score: Type.Integer({ minimum: 0 }),
    /** What one billable click costs (the price in the click token). */
    priceMicros: Micros,
    /** In the `ctr` arm: the pCTR it was ranked and priced by, in ppm (services/blender/pricing-ctr.ts). */
    ctrPpm: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type PvAd = Static<typeof PvAd>;

export const PvRecord = Type.Object(
  {
    v: Type.Literal(PV_RECORD_VERSION),
    /** The blender's request id (a UUID); every click token of the page carries it. */
    pvId: Type.String(),
    /** Request time, ms since the epoch, and the same as ISO text. */
    timeMs: Type.Integer({ minimum: 0 }),
    time: Type.String(),
    query: Type.Object(
      {
        /** q as the caller sent it. */
        raw: Type.String(),
        /** After core/normalize. */
        normalized: Type.String(),
        /** After synonyms and stopwords: what the merger was asked. */
        rewritten: Type.String(),
        synonyms: Type.Array(Type.String()),
        stopwords: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
    /** Ads asked for (the merger was asked n+1). */
    n: Type.Integer({ minimum: 1 }),
    region: Type.Optional(Type.String()),
    category: Type.Optional(Type.String()),
    user: Type.Object(
      {
        id: Type.Optional(Type.String()),
        ip: Type.Optional(Type.String()),
        userAgent: Type.Optional(Type.String()),
        /** core/click-token clientDigest(ip, userAgent), as in every click token of the page. */
        clientDigest: Type.String(),
      },
      { additionalProperties: false },
    ),
    coverage: Type.Object(
      { columns: Type.Integer(), answered: Type.Integer() },
      { additionalProperties: false },
    ),
    degraded: Type.Boolean(),
    /** The experiment arm (core/experiment.ts) that ranked this page; absent means `quality`. */
    arm: Type.Optional(Type.Union([Type.Literal('quality'), Type.Literal('ctr')])),
    /** In the `ctr` arm: the click model version that ranked this page (0: none loaded, priors only). */
    modelVersion: Type.Optional(Type.Integer({ minimum: 0 })),
    /** The pricing rule in force for this page. */
    pricing: Type.Object({ reserveMicros: Micros, stepMicros: Micros }, { additionalProperties: false }),
    /**
     * Score of the first ad not shown (the last shown ad's competitor), when there was one: its
     * core/ranking score in the `quality` arm, bid x ctrPpm in the `ctr` arm.
     */
    nextScore: Type.Optional(Type.Integer({ minimum: 0 })),
    ads: Type.Array(PvAd),
    /**
     * Ads of customers offline for their budget that would have been among the `n` shown had
     * their customers been online (core/merge-contract.ts MergeLostAd, positions <= n); absent
     * when none. The reports service counts them as impressions lost to budget.
     */
    lostToBudget: Type.Optional(
      Type.Array(
        Type.Object(
          {
            position: Type.Integer({ minimum: 1 }),
            offerId: Type.String(),
            customerId: Type.String(),
            bidwordId: Type.String(),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    /** Time the blender spent on the request (ms). */
    tookMs: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false, $id: 'PvRecord' },
);
export type PvRecord = Static<typeof PvRecord>;
