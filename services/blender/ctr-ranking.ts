// The `ctr` arm's ranking (core/experiment.ts): each candidate the merger returned (ranked by the
// static score, so the model only re-orders the top of retrieval) gets a position-normalized pCTR,
// and the candidates are sorted by bid x pCTR (pricing-ctr.ts compareByCtr).
//   - warm: the model has a weight for one of the offer's own features (offer, keyword x offer):
//     pCTR = the model's prediction at REFERENCE_POSITION;
//   - cold (cold start): pCTR = the model's prediction from the features it does know (keyword,
//     match type, position, hour, ... : the level) x the offer's quality relative to the mean
//     quality of the candidates (the advertiser platform's quality is the prior);
//   - no model yet: `prior` x relative quality.
// Pure apart from reading the model; runs once per `ctr` request over at most `candidates` hits.
import {
  adCoords,
  KW_OFFER_FEATURE,
  OFFER_FEATURE,
  queryFeatures,
  REFERENCE_POSITION,
} from '../../learner/features.js';
import type { CtrModel } from '../../learner/model-file.js';
import type { BlenderHit } from './blend.js';
import { compareByCtr, ctrToPpm } from './pricing-ctr.js';

export interface CtrContext {
  queryTokens: readonly string[];
  /** Request time, ms since the epoch (its UTC hour is a feature). */
  nowMs: number;
  region?: string | undefined;
  category?: string | undefined;
}

export interface CtrRanked {
  /** The hits in bid x pCTR order. */
  hits: BlenderHit[];
  /** pCTR of each, in ppm, same order. */
  ctrPpm: number[];
  /** How many were scored from their own features (the rest from priors). */
  warm: number;
}

export function rankByCtr(
  hits: readonly BlenderHit[],
  model: CtrModel | undefined,
  ctx: CtrContext,
  prior: number,
): CtrRanked {
  if (hits.length === 0) return { hits: [], ctrPpm: [], warm: 0 };
  let qualitySum = 0;
  for (const h of hits) qualitySum += h.qualityBp;
  const meanQuality = qualitySum / hits.length;
  const q =
    model === undefined
      ? undefined
      : queryFeatures(
          {
            queryTokens: ctx.queryTokens,
            hour: new Date(ctx.nowMs).getUTCHours(),
            region: ctx.region,
            category: ctx.category,
          },
          model.bits,
        );
  let warm = 0;
  const scored = hits.map((h) => {
    let pctr: number;
    const relativeQuality = h.qualityBp / meanQuality;
    if (model === undefined || q === undefined) pctr = prior * relativeQuality;
    else {
      const coords = adCoords(
        {
          keyword: h.keyword,
          offerId: h.offerId,
          customerId: h.customerId,
          matchType: h.matchType,
          position: REFERENCE_POSITION,
        },
        q,
      );
      const known = model.knows([coords[OFFER_FEATURE]!, coords[KW_OFFER_FEATURE]!]);
      pctr = model.predict(coords);
      if (known) warm++;
      else pctr *= relativeQuality;
    }
    return { hit: h, offerId: h.offerId, bidMicros: h.bidMicros, ctrPpm: ctrToPpm(Math.min(1, pctr)) };
  });
  scored.sort(compareByCtr);
  return { hits: scored.map((s) => s.hit), ctrPpm: scored.map((s) => s.ctrPpm), warm };
}
