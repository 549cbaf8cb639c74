// The reports service's HTTP app: the report endpoints (routes/reports.ts), the live dashboard
// and its event stream (routes/dashboard.ts), /openapi.json, /healthz, /readyz and /metrics.
// buildApp never listens (server.ts does), so tests use inject().
//
// Concurrency: handlers only read (reader connections see the last committed transaction).

import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { ImatchError } from '../core/errors.js';
import { installHttpBoundary } from '../core/http-app.js';
import type { Logger } from '../core/logger.js';
import type { LiveSnapshot } from './live.js';
import type { ReportsMetrics } from './metrics.js';
import { dashboardRoutes, LiveHub } from './routes/dashboard.js';
import { openApiRoute, registerOpenApi } from './routes/openapi.js';
import { reportRoutes } from './routes/reports.js';
import { describeValidation } from './routes/validation.js';
import type { ReportStore } from './store.js';

const ROUTES =
  'GET /v1/reports/customers, /v1/reports/customers/{id}, /v1/reports/customers/{id}/breakdown, /v1/reports/customers/{id}/hourly, /v1/reports/search-terms, /v1/live, /v1/live/stream, /v1/positions, /dashboard, /openapi.json, /healthz, /readyz, /metrics';

const queryAjv = new Ajv({
  removeAdditional: false,
  allErrors: true,
  verbose: true,
  strict: false,
  coerceTypes: true,
  useDefaults: true,
});

export interface ReportsDeps {
  log: Logger;
  store: ReportStore;
  metrics: ReportsMetrics;
  timeZone: string;
  today: () => string;
  snapshot: () => Promise<LiveSnapshot>;
  dashboardTickMs: number;
  /** Why the service is not ready, or undefined when it is. */
  readiness: () => string | undefined;
}

export interface ReportsApp {
  app: FastifyInstance;
  hub: LiveHub;
}

export function buildApp(deps: ReportsDeps): ReportsApp {
  const app = Fastify({
    loggerInstance: deps.log,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(({ schema }) => queryAjv.compile(schema) as (data: unknown) => boolean);
  installHttpBoundary(app, {
    observe: (labels, seconds) => deps.metrics.requestDuration.observe(labels, seconds),
    validationCode: 'IM_ERR_BAD_QUERY',
    describeValidation,
    routes: ROUTES,
  });
  const hub = new LiveHub(deps.snapshot, deps.dashboardTickMs, deps.log.child({ component: 'live' }));
  app.addHook('onClose', async () => hub.close());
  registerOpenApi(app);
  app.register(async (r) => {
    reportRoutes(r, { store: deps.store, timeZone: deps.timeZone, today: deps.today });
    dashboardRoutes(r, { hub, snapshot: deps.snapshot });
    openApiRoute(r);
    r.get(
      '/v1/positions',
      {
        schema: {
          tags: ['live'],
          summary: 'The Kafka positions stored with the data (next offset per topic partition)',
        },
      },
      async () => ({ positions: await deps.store.positions() }),
    );
    r.get('/healthz', { schema: { hide: true } as Record<string, unknown> }, async () => ({
      status: 'ok' as const,
    }));
    r.get('/readyz', { schema: { hide: true } as Record<string, unknown> }, async (_req, reply) => {
      const why = deps.readiness();
      if (why !== undefined) throw new ImatchError('IM_ERR_NOT_READY', why);
      return reply.send({ status: 'ready', today: deps.today(), timeZone: deps.timeZone });
    });
    r.get('/metrics', { schema: { hide: true } as Record<string, unknown> }, async (_req, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  });
  return { app, hub };
}
