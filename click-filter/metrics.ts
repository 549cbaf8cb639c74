// Prometheus metrics of one click-filter app instance, in a Registry of its own. State sizes
// (dedup map, rate-limit keys, pending decisions) are read at scrape time through `collect`, so a
// click pays for a few counter increments and one histogram observation.
import { Counter, Gauge, Histogram } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../core/service-metrics.js';

export interface StateFacts {
  dedupEntries: number;
  dedupEvictedEarly: number;
  userKeys: number;
  ipKeys: number;
  pendingDecisions: number;
}

export interface ClickFilterMetrics extends ServiceMetrics {
  readonly requests: Counter<'outcome'>;
  readonly decisions: Counter<'reason'>;
  readonly badTokens: Counter<'reason'>;
  readonly billedMicros: Counter;
  readonly duration: Histogram<'outcome'>;
  readonly logBatches: Counter;
  readonly logBatchSize: Histogram;
  readonly logRequestSeconds: Histogram;
  readonly logFailures: Counter;
  readonly logDropped: Counter<'why'>;
  readonly redirectBeforeDurable: Counter;
  readonly settingsErrors: Counter;
  readonly settingsVersion: Gauge;
}

export function createClickFilterMetrics(facts: () => StateFacts, processMetrics = true): ClickFilterMetrics {
  const base = createServiceMetrics('click-filter', { processMetrics });
  const r = [base.registry];
  const gauge = (name: string, help: string, read: (f: StateFacts) => number) =>
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        this.set(read(facts()));
      },
    });
  gauge('imatch_click_dedup_entries', 'Clicks remembered for duplicate detection', (f) => f.dedupEntries);
  gauge(
    'imatch_click_dedup_evicted_early',
    'Clicks forgotten before their window ended (map full)',
    (f) => f.dedupEvictedEarly,
  );
  gauge('imatch_click_rate_user_keys', 'Users tracked by the per-user limit', (f) => f.userKeys);
  gauge('imatch_click_rate_ip_keys', 'Addresses tracked by the per-address limit', (f) => f.ipKeys);
  gauge('imatch_click_log_pending', 'Decisions waiting for Kafka', (f) => f.pendingDecisions);
  return {
    ...base,
    requests: new Counter({
      name: 'imatch_click_requests_total',
      help: 'Click requests by outcome (redirect, bad-token, head)',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    decisions: new Counter({
      name: 'imatch_click_decisions_total',
      help: 'Click decisions by reason (ok = billable)',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    badTokens: new Counter({
      name: 'imatch_click_bad_tokens_total',
      help: 'Tokens that did not verify, by reason (no redirect)',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    billedMicros: new Counter({
      name: 'imatch_click_billable_micros_total',
      help: 'Sum of the prices of billable clicks (micros)',
      registers: r,
    }),
    duration: new Histogram({
      name: 'imatch_click_duration_seconds',
      help: 'Time from request to answer, Kafka wait included',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers: r,
    }),
    logBatches: new Counter({
      name: 'imatch_click_log_batches_total',
      help: 'Kafka produce requests sent',
      registers: r,
    }),
    logBatchSize: new Histogram({
      name: 'imatch_click_log_batch_size',
      help: 'Decisions per Kafka produce request',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers: r,
    }),
    logRequestSeconds: new Histogram({
      name: 'imatch_click_log_request_seconds',
      help: 'Time Kafka took to acknowledge one produce request of decisions (acks=all)',
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.5, 2],
      registers: r,
    }),
    logFailures: new Counter({
      name: 'imatch_click_log_failures_total',
      help: 'Kafka produce requests that failed (their decisions are retried)',
      registers: r,
    }),
    logDropped: new Counter({
      name: 'imatch_click_log_dropped_total',
      help: 'Decisions never written to Kafka (queue full, or retried too long), by why',
      labelNames: ['why'] as const,
      registers: r,
    }),
    redirectBeforeDurable: new Counter({
      name: 'imatch_click_redirect_before_durable_total',
      help: 'Redirects answered before Kafka acknowledged the decision (Kafka slow or down)',
      registers: r,
    }),
    settingsErrors: new Counter({
      name: 'imatch_click_settings_errors_total',
      help: 'ZooKeeper config/click-filter documents refused (the previous settings stayed)',
      registers: r,
    }),
    settingsVersion: new Gauge({
      name: 'imatch_click_settings_version',
      help: 'ZooKeeper version of the applied config/click-filter document (-1 = defaults)',
      registers: r,
    }),
  };
}
