// The click filter's HTTP app: GET /c/<token> (routes/click.ts), /healthz, /readyz, /metrics and,
// only when configured for tests, PUT /v1/test/clock. buildApp wires the pieces it is given and
// never listens (server.ts does), so tests drive it with inject().
//
// Concurrency: one event loop; per click the pipeline runs synchronously and the only await is
// the Kafka write (decision-log.ts).
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { ClickKeyring } from '../core/click-token.js';
import { MAX_TOKEN_CHARS } from '../core/click-token.js';
import type { OffsetClock } from '../core/clock.js';
import { ImatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ClickFilterConfig } from './config.js';
import type { DecisionLog } from './decision-log.js';
import { type ClickFilterMetrics, createClickFilterMetrics } from './metrics.js';
import { ClickPipeline } from './pipeline.js';
import { clickRoutes } from './routes/click.js';
import { compileBlockList, type FilterSettings, settingsFromConfig } from './settings.js';
import type { SettingsHolder } from './settings-watcher.js';
import { DedupWindow } from './state/dedup-window.js';
import { RateWindow } from './state/rate-window.js';

export interface ClickFilterDeps {
  log: Logger;
  keyring: ClickKeyring;
  clock: OffsetClock;
  decisions: DecisionLog;
  settings: SettingsHolder;
  /** This instance's id (in every decision). */
  instance: string;
  /** Extra readiness conditions (ZooKeeper registration); ready when absent. */
  readiness?: () => string | undefined;
  processMetrics?: boolean;
}

export interface ClickFilterApp {
  app: FastifyInstance;
  pipeline: ClickPipeline;
  metrics: ClickFilterMetrics;
}

/** The configured defaults of the run-time settings (before ZooKeeper says anything). */
export function defaultSettings(config: ClickFilterConfig): FilterSettings {
  return settingsFromConfig(config, compileBlockList(config.blockedCidrs, config.blockedUserAgents));
}

export function buildApp(config: ClickFilterConfig, deps: ClickFilterDeps): ClickFilterApp {
  const state = {
    dedup: new DedupWindow(config.dedupMaxEntries),
    users: new RateWindow(config.rateMaxKeys),
    ips: new RateWindow(config.rateMaxKeys),
  };
  const pipeline = new ClickPipeline({
    keyring: () => deps.keyring,
    settings: () => deps.settings.current,
    clock: deps.clock,
    instance: deps.instance,
    state,
  });
  const metrics = createClickFilterMetrics(
    () => ({
      dedupEntries: state.dedup.size,
      dedupEvictedEarly: state.dedup.evictedEarly,
      userKeys: state.users.size,
      ipKeys: state.ips.size,
      pendingDecisions: deps.decisions.pending,
    }),
    deps.processMetrics ?? true,
  );

  const app = Fastify({
    loggerInstance: deps.log,
    // Per-request log lines would cost more than a click; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    trustProxy: config.trustProxy,
    routerOptions: { maxParamLength: 4 * MAX_TOKEN_CHARS },
    // pino's Logger type is wider than FastifyBaseLogger's generic slot; the instance is the same.
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
  app.setNotFoundHandler((req, reply) => {
    // An over-long token does not even reach the route: still the bad-link page, never a redirect.
    if (req.url.startsWith('/c/')) {
      metrics.badTokens.inc({ reason: 'bad-format' });
      return reply
        .code(400)
        .header('content-type', 'text/html; charset=utf-8')
        .send('<!doctype html><p>This link is not valid.</p>\n');
    }
    const e = new ImatchError('IM_ERR_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).send(e.toBody());
  });

  clickRoutes(app, {
    pipeline,
    decisions: deps.decisions,
    metrics,
    log: deps.log.child({ component: 'click' }),
    logMode: config.logMode,
    kafkaWaitMs: config.kafkaWaitMs,
  });

  app.get(
    '/healthz',
    { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get('/readyz', async (_req, reply) => {
    const why = !deps.settings.loaded
      ? 'settings not loaded from ZooKeeper yet'
      : !deps.decisions.healthy
        ? 'Kafka is not taking decisions'
        : deps.readiness?.();
    if (why !== undefined) {
      reply.header('retry-after', '1');
      return reply.code(503).send(new ImatchError('IM_ERR_NOT_READY', why).toBody());
    }
    return {
      status: 'ready',
      instance: deps.instance,
      settings: deps.settings.current.source,
      pendingDecisions: deps.decisions.pending,
    };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  if (config.testClockEndpoint) {
    app.put(
      '/v1/test/clock',
      {
        schema: {
          body: Type.Object({ offsetMs: Type.Integer() }, { additionalProperties: false }),
        },
      },
      async (req) => {
        deps.clock.setOffset((req.body as { offsetMs: number }).offsetMs);
        return { offsetMs: deps.clock.offset, nowMs: deps.clock.now() };
      },
    );
  }

  return { app, pipeline, metrics };
}
