// Prometheus metrics of one searcher app instance, in a Registry of its own (never prom-client's
// global one, so two apps in one process or test never share counters). Index gauges are read at
// scrape time from the index holder through `collect` callbacks, so the query hot path only pays
// for one histogram observation per request.
import { Counter, Gauge } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../../core/service-metrics.js';

/** What the gauges read at scrape time; undefined while no index is loaded. */
export interface IndexFacts {
  version: string;
  offers: number;
  bidwords: number;
  customers: number;
  appliedId: number;
  watermark: number;
}

export interface SearcherMetrics extends ServiceMetrics {
  readonly swaps: Counter;
  readonly swapFailures: Counter<'reason'>;
  readonly loadSeconds: Gauge;
}

export interface MetricsOptions {
  /** Read at every scrape. */
  facts: () => IndexFacts | undefined;
  /** Also collect process metrics (CPU, heap, event loop lag); default true. */
  processMetrics?: boolean;
}

export function createSearcherMetrics(options: MetricsOptions): SearcherMetrics {
  const base = createServiceMetrics('searcher', {
    processMetrics: options.processMetrics !== false,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  const { registry } = base;
  const swaps = new Counter({
    name: 'imatch_searcher_swaps_total',
    help: 'Index versions loaded and switched to (the first load included)',
    registers: [registry],
  });
  const swapFailures = new Counter({
    name: 'imatch_searcher_swap_failures_total',
    help: 'Index versions refused (corrupt, truncated or missing segment, wrong column count)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const loadSeconds = new Gauge({
    name: 'imatch_searcher_index_load_seconds',
    help: 'Time the last successful load of a column took',
    registers: [registry],
  });

  const fact = (name: string, help: string, pick: (f: IndexFacts) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const f = options.facts();
        if (f === undefined) this.reset();
        else this.set(pick(f));
      },
    });
  fact('imatch_searcher_index_offers', 'Offers in the served column', (f) => f.offers);
  fact('imatch_searcher_index_bidwords', 'Positive bidwords in the served column', (f) => f.bidwords);
  fact('imatch_searcher_index_customers', 'Customers known to the served column', (f) => f.customers);
  fact('imatch_searcher_applied_id', 'Last change-message id applied to the live index', (f) => f.appliedId);
  fact('imatch_searcher_index_watermark', 'Watermark of the served index version', (f) => f.watermark);
  new Gauge({
    name: 'imatch_searcher_index_version_info',
    help: 'The served index version (value 1, version as a label)',
    labelNames: ['version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const f = options.facts();
      if (f !== undefined) this.set({ version: f.version }, 1);
    },
  });

  return { ...base, swaps, swapFailures, loadSeconds };
}
