// The merger's Prometheus metrics, one Registry per app instance (never the global one, so two
// apps in one process, as in tests, do not collide). Per-column label children are cached so the
// hot path does a Map lookup, not a label-hash, per observation.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../../core/service-metrics.js';
import type { Balancer, Replica } from './balancer.js';
import type { ColumnFailure, FanoutObserver } from './fanout.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1];

export type MergeResult = 'ok' | 'degraded' | 'failed' | 'bad_request' | 'not_ready' | 'shed';

export class MergerMetrics implements FanoutObserver, ServiceMetrics {
  readonly service = 'merger' as const;
  readonly registry: Registry;
  readonly requestDuration: ServiceMetrics['requestDuration'];
  private readonly requests: Counter<'result'>;
  private readonly duration: Histogram<'result'>;
  private readonly columnLatency: Histogram<'column' | 'outcome'>;
  private readonly retries: Counter<'column'>;
  private readonly skippedColumns: Counter<'column' | 'reason'>;
  private readonly deepened: Counter;
  private readonly latencyChildren = new Map<string, ReturnType<Histogram<'column' | 'outcome'>['labels']>>();
  private readonly resultChildren = new Map<
    MergeResult,
    { count: ReturnType<Counter<'result'>['labels']>; duration: ReturnType<Histogram<'result'>['labels']> }
  >();

  constructor(balancer: Balancer, options: { defaultMetrics?: boolean } = {}) {
    const base = createServiceMetrics('merger', {
      processMetrics: options.defaultMetrics !== false,
      buckets: LATENCY_BUCKETS,
    });
    this.registry = base.registry;
    this.requestDuration = base.requestDuration;
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'imatch_merger_requests_total',
      help: 'Merge requests by result (degraded: some column missing; failed: no column answered)',
      labelNames: ['result'],
      registers,
    });
    this.duration = new Histogram({
      name: 'imatch_merger_merge_duration_seconds',
      help: 'Time from a merge request to its answer, in the merger',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.columnLatency = new Histogram({
      name: 'imatch_merger_column_latency_seconds',
      help: 'Time of one searcher attempt, by column and outcome (ok, timeout, error)',
      labelNames: ['column', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'imatch_merger_retries_total',
      help: 'Searcher attempts retried on another replica of the column',
      labelNames: ['column'],
      registers,
    });
    this.skippedColumns = new Counter({
      name: 'imatch_merger_skipped_columns_total',
      help: 'Columns missing from an answer, by reason (no-replica, timeout, error)',
      labelNames: ['column', 'reason'],
      registers,
    });
    this.deepened = new Counter({
      name: 'imatch_merger_deepened_total',
      help: 'Merges that asked some column again for more hits because CDistinct dropped ads',
      registers,
    });
    new Gauge({
      name: 'imatch_merger_replicas',
      help: 'Searcher replicas known from ZooKeeper, by column and health',
      labelNames: ['column', 'state'],
      registers,
      collect() {
        this.reset();
        for (let c = 0; c < balancer.columnCount; c++) {
          const healthy = balancer.healthyCount(c);
          this.set({ column: String(c), state: 'healthy' }, healthy);
          this.set({ column: String(c), state: 'unhealthy' }, balancer.replicas(c).length - healthy);
        }
      },
    });
  }

  request(result: MergeResult, seconds: number): void {
    let children = this.resultChildren.get(result);
    if (children === undefined) {
      children = { count: this.requests.labels({ result }), duration: this.duration.labels({ result }) };
      this.resultChildren.set(result, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
  }

  deepen(): void {
    this.deepened.inc();
  }

  attempt(column: number, _replica: Replica, seconds: number, failure?: ColumnFailure): void {
    const outcome = failure ?? 'ok';
    const key = `${column}/${outcome}`;
    let child = this.latencyChildren.get(key);
    if (child === undefined) {
      child = this.columnLatency.labels({ column: String(column), outcome });
      this.latencyChildren.set(key, child);
    }
    child.observe(seconds);
  }

  retry(column: number): void {
    this.retries.inc({ column: String(column) });
  }

  skipped(column: number, reason: ColumnFailure): void {
    this.skippedColumns.inc({ column: String(column), reason });
  }
}
