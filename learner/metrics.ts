// Prometheus metrics of one learner, in a Registry of its own (core/service-metrics.ts).
import { Counter, Gauge } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../core/service-metrics.js';

export interface LearnerMetrics extends ServiceMetrics {
  /** Kafka records read, by topic kind and result (applied, skipped: below the stored position, bad). */
  readonly records: Counter<'topic' | 'result'>;
  /** Examples since the state began, by use (trained, held-out); set at each scrape. */
  readonly examples: Gauge<'use'>;
  /** Attribution outcomes since the state began (positives, negatives, invalid, orphan, repeat clicks). */
  readonly attribution: Gauge<'outcome'>;
  readonly snapshots: Counter<'result'>;
  readonly checkpoints: Counter<'result'>;
  readonly modelVersion: Gauge;
  readonly modelWeights: Gauge;
  readonly waitingImpressions: Gauge;
  /** Held-out figures over the recent window. */
  readonly heldOut: Gauge<'figure'>;
  /** Event time the learner has reached, ms since the epoch. */
  readonly watermark: Gauge;
}

export function createLearnerMetrics(processMetrics = true): LearnerMetrics {
  const base = createServiceMetrics('learner', { processMetrics });
  const registers = [base.registry];
  return {
    ...base,
    records: new Counter({
      name: 'imatch_learner_records_total',
      help: 'Kafka records read, by topic and result',
      labelNames: ['topic', 'result'],
      registers,
    }),
    examples: new Gauge({
      name: 'imatch_learner_examples',
      help: 'Examples made from impressions since the state began, by use (trained, held-out)',
      labelNames: ['use'],
      registers,
    }),
    attribution: new Gauge({
      name: 'imatch_learner_attribution',
      help: 'Attribution outcomes since the state began (positives, negatives, invalid_clicks, orphan_clicks, repeat_clicks)',
      labelNames: ['outcome'],
      registers,
    }),
    snapshots: new Counter({
      name: 'imatch_learner_snapshots_total',
      help: 'Model snapshots written and pointed to in ZooKeeper, by result',
      labelNames: ['result'],
      registers,
    }),
    checkpoints: new Counter({
      name: 'imatch_learner_checkpoints_total',
      help: 'State checkpoints written, by result',
      labelNames: ['result'],
      registers,
    }),
    modelVersion: new Gauge({
      name: 'imatch_learner_model_version',
      help: 'Newest model version written',
      registers,
    }),
    modelWeights: new Gauge({
      name: 'imatch_learner_model_weights',
      help: 'Non-zero weights of the newest model',
      registers,
    }),
    waitingImpressions: new Gauge({
      name: 'imatch_learner_waiting_impressions',
      help: 'Impressions waiting for a click or for the attribution window to pass',
      registers,
    }),
    heldOut: new Gauge({
      name: 'imatch_learner_held_out',
      help: 'Held-out figures over the recent window (auc, log_loss, normalized_entropy, calibration)',
      labelNames: ['figure'],
      registers,
    }),
    watermark: new Gauge({
      name: 'imatch_learner_watermark_ms',
      help: 'Event time the learner has reached (ms since the epoch)',
      registers,
    }),
  };
}
