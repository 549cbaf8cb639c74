// Prometheus metrics of one dispatch instance, on its own Registry (never prom-client's global
// one, so several instances in one test process do not collide). Created once per app.
import { Counter, Gauge, Histogram } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../core/service-metrics.js';

export interface DispatchMetrics extends ServiceMetrics {
  changes: Counter<'result'>;
  writeSeconds: Histogram;
  writeMessages: Histogram;
  pending: Gauge;
  leader: Gauge;
  lastId: Gauge;
  blocks: Counter;
}

export function createDispatchMetrics(options: { processMetrics?: boolean } = {}): DispatchMetrics {
  const base = createServiceMetrics('dispatch', {
    processMetrics: options.processMetrics ?? true,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });
  const registers = [base.registry];
  return {
    ...base,
    changes: new Counter({
      name: 'imatch_dispatch_changes_total',
      help: 'Changes by outcome: acknowledged, invalid (batch refused), failed (not made durable), refused (not leader, overloaded, unauthorized)',
      labelNames: ['result'],
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'imatch_dispatch_kafka_write_seconds',
      help: 'Time of one acks=all produce request to the changes topic',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    writeMessages: new Histogram({
      name: 'imatch_dispatch_kafka_write_messages',
      help: 'Change messages per produce request (requests micro-batched together)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers,
    }),
    pending: new Gauge({
      name: 'imatch_dispatch_pending_changes',
      help: 'Changes waiting to be written to Kafka',
      registers,
    }),
    leader: new Gauge({
      name: 'imatch_dispatch_leader',
      help: '1 when this instance is the leader that assigns message ids',
      registers,
    }),
    lastId: new Gauge({
      name: 'imatch_dispatch_last_id',
      help: 'Highest message id acknowledged by this instance',
      registers,
    }),
    blocks: new Counter({
      name: 'imatch_dispatch_id_blocks_total',
      help: 'Message-id blocks reserved in ZooKeeper by this instance',
      registers,
    }),
  };
}
