// The one metrics convention of the HTTP services: each app has a prom-client Registry of its own
// (never the global one, so two apps in one process or test never share counters), every metric
// name in it starts with the service's prefix (process metrics included: imatch_merger_heap_...),
// and every answered request is observed in `<prefix>request_duration_seconds{route,status}`.
// The service adds its own metrics to the same registry with metricName().
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The HTTP services of the engine. */
export const SERVICES = [
  'searcher',
  'merger',
  'blender',
  'dispatch',
  'click-filter',
  'billing',
  'reports',
  'learner',
] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The metric-name prefix of a service (kept short for the click filter's established names). */
export const METRIC_PREFIX: Record<ServiceName, string> = {
  searcher: 'imatch_searcher_',
  merger: 'imatch_merger_',
  blender: 'imatch_blender_',
  dispatch: 'imatch_dispatch_',
  'click-filter': 'imatch_click_',
  billing: 'imatch_billing_',
  reports: 'imatch_reports_',
  learner: 'imatch_learner_',
};

export interface ServiceMetrics {
  readonly service: ServiceName;
  readonly registry: Registry;
  readonly requestDuration: Histogram<'route' | 'status'>;
}

export interface ServiceMetricsOptions {
  /** Also collect process metrics (CPU, heap, event loop lag); default true. */
  processMetrics?: boolean;
  /** Buckets of the request-duration histogram (seconds). */
  buckets?: number[];
}

const DEFAULT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createServiceMetrics(
  service: ServiceName,
  options: ServiceMetricsOptions = {},
): ServiceMetrics {
  const registry = new Registry();
  const prefix = METRIC_PREFIX[service];
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix });
  const requestDuration = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'HTTP request latency by route and status code',
    labelNames: ['route', 'status'] as const,
    buckets: options.buckets ?? DEFAULT_BUCKETS,
    registers: [registry],
  });
  return { service, registry, requestDuration };
}

/** `imatch_<service>_<name>`: the name of a service metric under the convention. */
export function metricName(service: ServiceName, name: string): string {
  return METRIC_PREFIX[service] + name;
}
