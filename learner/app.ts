// The learner's HTTP app: GET /v1/learner/stats (what it has learned from and how good the model is
// on held-out impressions), /openapi.json, /healthz, /readyz and /metrics. buildApp never listens
// (server.ts does), so tests use inject().
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/logger.js';
import { createServiceApp } from '../core/service-app.js';
import type { LearnerMetrics } from './metrics.js';
import type { Trainer } from './trainer.js';

const Figure = Type.Union([Type.Number(), Type.Null()]);
const Figures = Type.Object({
  impressions: Type.Integer(),
  clicks: Type.Integer(),
  logLoss: Figure,
  normalizedEntropy: Figure,
  auc: Figure,
  calibration: Figure,
});

export const LearnerStats = Type.Object({
  stateId: Type.String(),
  /** Examples the model was trained on (held-out ones excluded). */
  examples: Type.Integer(),
  heldOutExamples: Type.Integer(),
  /** Held-out figures over the recent window (evaluation.ts). */
  heldOut: Figures,
  /** Held-out figures since the state began. */
  heldOutAll: Figures,
  attribution: Type.Object({
    positives: Type.Integer(),
    negatives: Type.Integer(),
    invalidClicks: Type.Integer(),
    orphanClicks: Type.Integer(),
    repeatClicks: Type.Integer(),
    waiting: Type.Integer(),
  }),
  records: Type.Object({ pv: Type.Integer(), clicks: Type.Integer(), unreadable: Type.Integer() }),
  modelVersion: Type.Integer(),
  modelWeights: Type.Integer(),
  watermarkMs: Type.Number(),
  positions: Type.Record(Type.String(), Type.String()),
});

export interface LearnerAppDeps {
  log: Logger;
  metrics: LearnerMetrics;
  trainer: () => Trainer;
  stateId: string;
  model: () => { version: number; weights: number };
  readiness: () => string | undefined;
}

export function statsOf(deps: Pick<LearnerAppDeps, 'trainer' | 'stateId' | 'model'>) {
  const t = deps.trainer();
  const a = t.attribution.counts;
  const m = deps.model();
  return {
    stateId: deps.stateId,
    examples: t.counts.trained,
    heldOutExamples: t.counts.heldOut,
    heldOut: t.evaluation.recent(),
    heldOutAll: t.evaluation.total(),
    attribution: { ...a, waiting: t.attribution.waiting },
    records: { pv: t.counts.pvRecords, clicks: t.counts.clickDecisions, unreadable: t.counts.unreadable },
    modelVersion: m.version,
    modelWeights: m.weights,
    watermarkMs: t.watermarkMs,
    positions: Object.fromEntries(t.positions),
  };
}

export function buildApp(deps: LearnerAppDeps): FastifyInstance {
  const { metrics } = deps;
  return createServiceApp(
    {
      log: deps.log,
      metrics,
      readiness: {
        schema: {},
        check: () => {
          const why = deps.readiness();
          return { why: why === undefined ? [] : [why], info: {} };
        },
      },
      openapi: {
        description:
          'The online click-through learner: joins clicks to page views, trains FTRL-Proximal, publishes model snapshots. See docs/learning.md.',
        tags: [{ name: 'learner', description: 'What the learner has learned and how good it is' }],
      },
      onScrape: () => {
        const s = statsOf(deps);
        metrics.examples.set({ use: 'trained' }, s.examples);
        metrics.examples.set({ use: 'held-out' }, s.heldOutExamples);
        metrics.attribution.set({ outcome: 'positives' }, s.attribution.positives);
        metrics.attribution.set({ outcome: 'negatives' }, s.attribution.negatives);
        metrics.attribution.set({ outcome: 'invalid_clicks' }, s.attribution.invalidClicks);
        metrics.attribution.set({ outcome: 'orphan_clicks' }, s.attribution.orphanClicks);
        metrics.attribution.set({ outcome: 'repeat_clicks' }, s.attribution.repeatClicks);
        metrics.waitingImpressions.set(s.attribution.waiting);
        metrics.watermark.set(s.watermarkMs);
        const h = s.heldOut;
        if (h.auc !== null) metrics.heldOut.set({ figure: 'auc' }, h.auc);
        if (h.logLoss !== null) metrics.heldOut.set({ figure: 'log_loss' }, h.logLoss);
        if (h.normalizedEntropy !== null)
          metrics.heldOut.set({ figure: 'normalized_entropy' }, h.normalizedEntropy);
        if (h.calibration !== null) metrics.heldOut.set({ figure: 'calibration' }, h.calibration);
      },
    },
    (r) => {
      r.get(
        '/v1/learner/stats',
        {
          schema: {
            tags: ['learner'],
            summary: 'Examples learned from, attribution outcomes, held-out model quality, model version',
            response: { 200: LearnerStats },
          },
        },
        async () => statsOf(deps),
      );
    },
  );
}
