// The billing service's HTTP app: the spend report and ledger totals (routes/spend.ts),
// /healthz, /readyz, /metrics and, only when configured for tests, PUT /v1/test/clock (moves the
// billing clock, then re-checks held customers at once). buildApp never listens (server.ts does).
//
// Concurrency: handlers only read the ledger (LMDB read transactions never block the writer).
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { OffsetClock } from '../core/clock.js';
import { ImatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BudgetKeeper } from './budget-keeper.js';
import type { BillingConfig } from './config.js';
import type { Ledger } from './ledger.js';
import type { BillingMetrics } from './metrics.js';
import { spendRoutes } from './routes/spend.js';

export interface BillingDeps {
  log: Logger;
  ledger: Ledger;
  keeper: BudgetKeeper;
  clock: OffsetClock;
  metrics: BillingMetrics;
  /** Why the service is not ready, or undefined when it is. */
  readiness: () => string | undefined;
}

export function buildApp(config: BillingConfig, deps: BillingDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log,
    // Per-request log lines would cost more than a click; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err, _req, reply) => {
    const e =
      err instanceof ImatchError
        ? err
        : (err as { validation?: unknown }).validation
          ? new ImatchError('IM_ERR_BAD_REQUEST', (err as Error).message)
          : new ImatchError('IM_ERR_INTERNAL', undefined, { cause: err });
    if (e.statusCode >= 500) deps.log.error({ err }, 'request failed');
    return reply.code(e.statusCode).send(e.toBody());
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(new ImatchError('IM_ERR_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`).toBody()),
  );

  spendRoutes(app, { ledger: deps.ledger, today: () => deps.keeper.today() });

  app.get('/healthz', async () => ({ status: 'ok' as const }));
  app.get('/readyz', async (_req, reply) => {
    const why = deps.readiness();
    if (why !== undefined) {
      reply.header('retry-after', '1');
      return reply.code(503).send(new ImatchError('IM_ERR_NOT_READY', why).toBody());
    }
    return { status: 'ready', today: deps.keeper.today(), timeZone: config.timeZone };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  if (config.testClockEndpoint) {
    app.put(
      '/v1/test/clock',
      { schema: { body: Type.Object({ offsetMs: Type.Integer() }, { additionalProperties: false }) } },
      async (req) => {
        deps.clock.setOffset((req.body as { offsetMs: number }).offsetMs);
        deps.keeper.tick(true);
        return { offsetMs: deps.clock.offset, nowMs: deps.clock.now(), today: deps.keeper.today() };
      },
    );
  }
  return app;
}
