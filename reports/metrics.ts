// Prometheus metrics of one reports instance, in a Registry of its own.
import { Counter, Gauge, Histogram } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../core/service-metrics.js';

export interface ReportsMetrics extends ServiceMetrics {
  /** Records consumed per topic and result (stored, skipped = below the stored position, bad). */
  readonly records: Counter<'topic' | 'result'>;
  readonly batches: Counter<'topic'>;
  readonly batchSeconds: Histogram;
  /** Records behind the end of each topic (updated by the lag poller). */
  readonly lag: Gauge<'topic'>;
}

export function createReportsMetrics(processMetrics = true): ReportsMetrics {
  const base = createServiceMetrics('reports', { processMetrics });
  const registers = [base.registry];
  return {
    ...base,
    records: new Counter({
      name: 'imatch_reports_records_total',
      help: 'Kafka records consumed, by topic and result',
      labelNames: ['topic', 'result'],
      registers,
    }),
    batches: new Counter({
      name: 'imatch_reports_batches_total',
      help: 'Database transactions of consumed records',
      labelNames: ['topic'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'imatch_reports_batch_seconds',
      help: 'Time to write one batch (one transaction)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    lag: new Gauge({
      name: 'imatch_reports_lag_records',
      help: 'Records between the stored position and the end of each topic',
      labelNames: ['topic'],
      registers,
    }),
  };
}
