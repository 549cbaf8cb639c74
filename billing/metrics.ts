// Prometheus metrics of one billing app instance, in a Registry of its own. Ledger totals and
// hold counts are read at scrape time.
import { Counter, Gauge } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../core/service-metrics.js';
import type { Ledger } from './ledger.js';

export interface BillingMetrics extends ServiceMetrics {
  readonly records: Counter<'topic' | 'result'>;
  readonly refunds: Counter<'effect'>;
  readonly batches: Counter;
  readonly budgetActions: Counter<'kind' | 'result'>;
}

export function createBillingMetrics(ledger: Ledger, processMetrics = true): BillingMetrics {
  const base = createServiceMetrics('billing', { processMetrics });
  const r = [base.registry];
  const total = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        this.set(read());
      },
    });
  total(
    'imatch_billing_charged_micros',
    "Sum charged over the ledger's life (micros)",
    () => ledger.totals().chargedMicros,
  );
  total(
    'imatch_billing_refunded_micros',
    "Sum refunded over the ledger's life (micros)",
    () => ledger.totals().refundedMicros,
  );
  total(
    'imatch_billing_charged_clicks',
    "Clicks charged over the ledger's life",
    () => ledger.totals().clicks,
  );
  total('imatch_billing_parked_refunds', 'Refunds waiting for the charge of their click', () =>
    ledger.parkedRefunds(),
  );
  total(
    'imatch_billing_holds',
    'Customers billing holds offline for their budget',
    () => [...ledger.holds()].length,
  );
  return {
    ...base,
    records: new Counter({
      name: 'imatch_billing_records_total',
      help: 'Kafka records consumed, by topic and result (charged, duplicate, refund, customer, skipped, ignored, bad)',
      labelNames: ['topic', 'result'] as const,
      registers: r,
    }),
    refunds: new Counter({
      name: 'imatch_billing_refunds_total',
      help: 'Refund records by effect (refunded, absorbed-duplicate, nothing-left, customer-mismatch, parked, repeated)',
      labelNames: ['effect'] as const,
      registers: r,
    }),
    batches: new Counter({
      name: 'imatch_billing_batches_total',
      help: 'Ledger transactions committed',
      registers: r,
    }),
    budgetActions: new Counter({
      name: 'imatch_billing_budget_actions_total',
      help: 'Budget changes by kind (offline, online, release) and result (sent, failed, skipped)',
      labelNames: ['kind', 'result'] as const,
      registers: r,
    }),
  };
}
