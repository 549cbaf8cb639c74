// Prometheus metrics of isupdate, registered on the searcher app's own Registry (never the global
// one, so several searchers in one test process do not collide). Created once per process.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IsUpdateMetrics {
  appliedId: Gauge;
  messages: Counter<'result'>;
  fsyncSeconds: Histogram;
  batchSize: Histogram;
  lag: Gauge<'partition'>;
  walBytes: Gauge;
  walSegments: Gauge;
}

export function isUpdateMetrics(registry: Registry): IsUpdateMetrics {
  const registers = [registry];
  return {
    appliedId: new Gauge({
      name: 'imatch_isupdate_applied_id',
      help: 'Highest change-message id applied to the live index',
      registers,
    }),
    messages: new Counter({
      name: 'imatch_isupdate_messages_total',
      help: 'Change messages by outcome: applied, replayed, ignored (not held here or older), skipped (other column or below watermark), duplicate (redelivered, already in WAL), malformed, failed',
      labelNames: ['result'],
      registers,
    }),
    fsyncSeconds: new Histogram({
      name: 'imatch_isupdate_wal_append_seconds',
      help: 'Time to write and fdatasync one micro-batch to the write-ahead log',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    batchSize: new Histogram({
      name: 'imatch_isupdate_batch_messages',
      help: 'Messages per write-ahead-log micro-batch',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    lag: new Gauge({
      name: 'imatch_isupdate_consumer_lag',
      help: 'Messages in the changes topic not yet consumed, per partition',
      labelNames: ['partition'],
      registers,
    }),
    walBytes: new Gauge({
      name: 'imatch_isupdate_wal_bytes',
      help: 'Bytes in the write-ahead log',
      registers,
    }),
    walSegments: new Gauge({
      name: 'imatch_isupdate_wal_segments',
      help: 'Segments in the write-ahead log',
      registers,
    }),
  };
}
