// /healthz (the process is alive), /readyz (the service should get traffic; 503 IM_ERR_NOT_READY
// with every reason and Retry-After otherwise) and /metrics (Prometheus text of the app's own
// registry), the same on every service. What "ready" means and what the ready answer carries
// beyond `status` is the service's: its check() runs on every /readyz, so it must be a cheap
// synchronous read.
import { type TProperties, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from './error-body.js';
import { ImatchError } from './errors.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface Readiness {
  /** Why the service should get no traffic right now; empty when it is ready. */
  why: string[];
  /** More fields of the 200 answer (declared in ReadinessCheck.schema). */
  info?: Record<string, unknown>;
  /** `details` of the 503 answer. */
  details?: unknown;
  /** More headers of the 503 answer. */
  headers?: Record<string, string>;
}

export interface ReadinessCheck {
  /** The fields of the ready answer besides `status` (they are serialized by this schema). */
  schema?: TProperties;
  check(): Readiness;
}

export interface HealthRouteOptions {
  readiness: ReadinessCheck;
  metrics: ServiceMetrics;
  /** Runs before each scrape (to set gauges that are not read through `collect`). */
  onScrape?: () => void;
}

const Alive = Type.Object({ status: Type.Literal('ok') }, { description: 'The process is alive' });

export function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): void {
  const { readiness, metrics } = opts;
  const Ready = Type.Object(
    { status: Type.Literal('ready'), ...readiness.schema },
    { description: 'The service should get traffic' },
  );
  const tags = ['operations'];

  app.get(
    '/healthz',
    { schema: { tags, summary: 'The process is alive', response: { 200: Alive } } },
    (_request, reply) => reply.send({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'The service should get traffic (503 with the reasons otherwise)',
        response: { 200: Ready, 503: ErrorBody },
      },
    },
    (_request, reply) => {
      const r = readiness.check();
      if (r.why.length > 0) {
        for (const [name, value] of Object.entries(r.headers ?? {})) reply.header(name, value);
        throw new ImatchError(
          'IM_ERR_NOT_READY',
          `Not ready: ${r.why.join(', ')}`,
          r.details === undefined ? undefined : { details: r.details },
        );
      }
      return reply.send({ status: 'ready', ...r.info });
    },
  );

  const metricsSchema = { tags, summary: 'Prometheus text of every metric of the service' };
  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    opts.onScrape?.();
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
