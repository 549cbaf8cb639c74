// Prometheus metrics of one blender app instance, in a Registry of its own (never prom-client's
// global one, so two apps in one process or test never share counters). The query path pays a
// few counter increments and two histogram observations per request; gauges are read at scrape
// time through `collect` callbacks.
import { Counter, Gauge, Histogram } from 'prom-client';
import { createServiceMetrics, type ServiceMetrics } from '../../core/service-metrics.js';

export interface BlenderFacts {
  /** Mergers known right now. */
  mergers: number;
  /** Page-view records waiting in memory. */
  pvBuffered: number;
}

export interface BlenderMetrics extends ServiceMetrics {
  readonly mergerDuration: Histogram<'outcome'>;
  readonly adsShown: Counter;
  readonly answers: Counter<'outcome'>;
  readonly upstreamErrors: Counter<'code'>;
  readonly pvSent: Counter;
  readonly pvDropped: Counter;
  readonly pvSendFailures: Counter;
  readonly configReloads: Counter<'config' | 'result'>;
  /** Ad requests refused by admission control (503 + Retry-After). */
  readonly shed: Counter;
  /** Click-model loads from the learner's pointer, by result (loaded, refused). */
  readonly modelLoads: Counter<'result'>;
  readonly modelLoadSeconds: Histogram;
  /** Version of the click model ranking the `ctr` arm (0: none, priors only). */
  readonly modelVersion: Gauge;
  /** Answers by experiment arm. */
  readonly armAnswers: Counter<'arm'>;
  /**
   * Where the admission gauges (imatch_blender_admission_limit, imatch_blender_in_flight) read
   * from at scrape time: the ad routes' admission control (admission.ts) registers itself here.
   */
  watchAdmission(read: () => AdmissionFacts): void;
}

export interface AdmissionFacts {
  /** The adaptive limit in force. */
  limit: number;
  /** Ad requests being answered now. */
  inFlight: number;
  /** Ad requests admitted above the limit so far (a stall at a steady rate, admission.ts). */
  overLimit: number;
}

export interface BlenderMetricsOptions {
  facts?: () => BlenderFacts;
  /** Also collect process metrics (CPU, heap, event loop lag); default true. */
  processMetrics?: boolean;
}

export function createBlenderMetrics(options: BlenderMetricsOptions = {}): BlenderMetrics {
  const buckets = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1];
  const base = createServiceMetrics('blender', {
    buckets,
    ...(options.processMetrics === undefined ? {} : { processMetrics: options.processMetrics }),
  });
  const { registry } = base;
  let admission: (() => AdmissionFacts) | undefined;
  const metrics: BlenderMetrics = {
    ...base,
    mergerDuration: new Histogram({
      name: 'imatch_blender_merger_call_duration_seconds',
      help: 'Latency of POST /merge calls by outcome (ok, down, timeout, not-ready)',
      labelNames: ['outcome'] as const,
      buckets,
      registers: [registry],
    }),
    adsShown: new Counter({
      name: 'imatch_blender_ads_shown_total',
      help: 'Ads returned (each with a priced click URL)',
      registers: [registry],
    }),
    answers: new Counter({
      name: 'imatch_blender_answers_total',
      help: 'Ad answers by outcome: full, degraded (a column missing), empty (no ad)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'imatch_blender_upstream_errors_total',
      help: 'Requests failed because of the merger, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    pvSent: new Counter({
      name: 'imatch_blender_pv_sent_total',
      help: 'Page-view records acknowledged by Kafka',
      registers: [registry],
    }),
    pvDropped: new Counter({
      name: 'imatch_blender_pv_dropped_total',
      help: 'Page-view records dropped (buffer full, or unsent at shutdown)',
      registers: [registry],
    }),
    pvSendFailures: new Counter({
      name: 'imatch_blender_pv_send_failures_total',
      help: 'Page-view batches Kafka did not acknowledge (retried)',
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'imatch_blender_config_reloads_total',
      help: 'Run-time configuration updates from ZooKeeper by config (qrw, pricing) and result',
      labelNames: ['config', 'result'] as const,
      registers: [registry],
    }),
    shed: new Counter({
      name: 'imatch_blender_shed_total',
      help: 'Ad requests refused at once with 503 because maxInFlight requests were being answered',
      registers: [registry],
    }),
    modelLoads: new Counter({
      name: 'imatch_blender_model_loads_total',
      help: 'Click models loaded from the learner pointer in ZooKeeper, by result (loaded, refused: damaged, non-finite, wrong version, unreadable)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    modelLoadSeconds: new Histogram({
      name: 'imatch_blender_model_load_seconds',
      help: 'Time to read, verify and load one click model',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2],
      registers: [registry],
    }),
    modelVersion: new Gauge({
      name: 'imatch_blender_model_version',
      help: 'Version of the click model ranking the ctr arm (0: none loaded, priors only)',
      registers: [registry],
    }),
    armAnswers: new Counter({
      name: 'imatch_blender_arm_answers_total',
      help: 'Ad answers by experiment arm (quality, ctr)',
      labelNames: ['arm'] as const,
      registers: [registry],
    }),
    watchAdmission(read) {
      admission = read;
    },
  };
  /** A gauge read at scrape time; undefined (no facts, no admission control yet): no sample. */
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read();
        if (value === undefined) this.reset();
        else this.set(value);
      },
    });
  gauge(
    'imatch_blender_mergers',
    'Mergers known (configured or discovered)',
    () => options.facts?.().mergers,
  );
  gauge(
    'imatch_blender_pv_buffered',
    'Page-view records waiting to be sent',
    () => options.facts?.().pvBuffered,
  );
  gauge(
    'imatch_blender_admission_limit',
    'Ad requests admission control lets in at once now (adapts between 8 and --max-in-flight)',
    () => admission?.().limit,
  );
  gauge('imatch_blender_in_flight', 'Ad requests being answered now', () => admission?.().inFlight);
  new Counter({
    name: 'imatch_blender_admitted_over_limit_total',
    help: 'Ad requests admitted above the admission limit because the engine stalled while arrivals stayed at their rate',
    registers: [registry],
    collect() {
      const value = admission?.().overLimit;
      this.reset();
      if (value !== undefined && value > 0) this.inc(value);
    },
  });
  return metrics;
}
